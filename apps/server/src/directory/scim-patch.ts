// PATCH (RFC 7644 §3.5.2) on the attributes Countersign keeps, in the forms Okta and Entra send:
// operations named in any case, `replace` with no path and an object value (dotted keys allowed),
// `active` as a boolean or Entra's "True"/"False", members added and removed by value list or by
// `members[value eq "…"]`. Any other path is refused with `invalidPath`.
import { z } from 'zod';
import { ScimError } from './scim-error.ts';
import { scimBoolean, type PatchOperation } from './scim-resources.ts';

export interface UserState {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  name: Record<string, unknown> | null;
  emails: { value: string; type?: string | undefined; primary?: boolean | undefined }[];
  active: boolean;
}

export interface GroupState {
  displayName: string;
  externalId: string | null;
  members: Set<string>;
}

const WORK_EMAIL = /^emails\[type eq "work"\]\.value$/i;
const MEMBER_FILTER = /^members\[value eq "([^"]+)"\]$/i;
const NAME_PART = /^name\.(givenName|familyName|formatted)$/i;

function valueOf<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ScimError(
      400,
      `${path}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`,
      'invalidValue',
    );
  }
  return parsed.data;
}

const text = z.string().max(500);
const emailList = z.array(
  z.looseObject({
    value: z.string().min(1).max(320),
    type: z.string().optional(),
    primary: scimBoolean.optional(),
  }),
);

function setUserAttribute(state: UserState, path: string, value: unknown, remove: boolean): void {
  const lower = path.toLowerCase();
  if (lower === 'active') {
    if (remove) throw new ScimError(400, 'active cannot be removed', 'mutability');
    state.active = valueOf(scimBoolean, value, path);
  } else if (lower === 'username') {
    if (remove) throw new ScimError(400, 'userName cannot be removed', 'mutability');
    state.userName = valueOf(text.min(1), value, path);
  } else if (lower === 'displayname') {
    state.displayName = remove ? null : valueOf(text, value, path);
  } else if (lower === 'externalid') {
    state.externalId = remove ? null : valueOf(text, value, path);
  } else if (lower === 'name') {
    state.name = remove
      ? null
      : { ...state.name, ...valueOf(z.record(z.string(), z.unknown()), value, path) };
  } else if (NAME_PART.test(path)) {
    const part = NAME_PART.exec(path)?.[1] ?? '';
    const key =
      ['givenName', 'familyName', 'formatted'].find((k) => k.toLowerCase() === part.toLowerCase()) ?? part;
    const next = { ...state.name };
    if (remove) delete next[key];
    else next[key] = valueOf(text, value, path);
    state.name = next;
  } else if (lower === 'emails') {
    state.emails = remove ? [] : valueOf(emailList, value, path);
  } else if (WORK_EMAIL.test(path)) {
    const others = state.emails.filter((e) => e.type !== 'work');
    state.emails = remove
      ? others
      : [...others, { value: valueOf(text.min(1), value, path), type: 'work', primary: true }];
  } else {
    throw new ScimError(400, `cannot change "${path}" on a User`, 'invalidPath');
  }
}

export function patchUser(state: UserState, operations: readonly PatchOperation[]): UserState {
  const next: UserState = { ...state, emails: [...state.emails] };
  for (const operation of operations) {
    if (operation.path) {
      setUserAttribute(next, operation.path, operation.value, operation.op === 'remove');
      continue;
    }
    if (operation.op === 'remove') throw new ScimError(400, 'remove needs a path', 'noTarget');
    const value = valueOf(z.record(z.string(), z.unknown()), operation.value, 'value');
    for (const [key, attribute] of Object.entries(value)) {
      if (key === 'schemas' || key === 'id') continue;
      setUserAttribute(next, key, attribute, false);
    }
  }
  return next;
}

const memberValues = z.array(z.looseObject({ value: z.string().min(1) })).max(10_000);

function setGroupAttribute(state: GroupState, operation: PatchOperation, path: string, value: unknown): void {
  const lower = path.toLowerCase();
  const filtered = MEMBER_FILTER.exec(path);
  if (filtered?.[1]) {
    if (operation.op !== 'remove')
      throw new ScimError(400, `${path}: only remove is supported`, 'invalidPath');
    state.members.delete(filtered[1]);
  } else if (lower === 'members') {
    if (operation.op === 'remove' && value === undefined) {
      state.members.clear();
      return;
    }
    const ids = valueOf(memberValues, value, path).map((m) => m.value);
    if (operation.op === 'replace') state.members = new Set(ids);
    else if (operation.op === 'add') ids.forEach((id) => state.members.add(id));
    else ids.forEach((id) => state.members.delete(id));
  } else if (lower === 'displayname') {
    if (operation.op === 'remove') throw new ScimError(400, 'displayName cannot be removed', 'mutability');
    state.displayName = valueOf(text.min(1), value, path);
  } else if (lower === 'externalid') {
    state.externalId = operation.op === 'remove' ? null : valueOf(text, value, path);
  } else {
    throw new ScimError(400, `cannot change "${path}" on a Group`, 'invalidPath');
  }
}

export function patchGroup(state: GroupState, operations: readonly PatchOperation[]): GroupState {
  const next: GroupState = { ...state, members: new Set(state.members) };
  for (const operation of operations) {
    if (operation.path) {
      setGroupAttribute(next, operation, operation.path, operation.value);
      continue;
    }
    if (operation.op === 'remove') throw new ScimError(400, 'remove needs a path', 'noTarget');
    const value = valueOf(z.record(z.string(), z.unknown()), operation.value, 'value');
    for (const [key, attribute] of Object.entries(value)) {
      if (key === 'schemas' || key === 'id') continue;
      setGroupAttribute(next, operation, key, attribute);
    }
  }
  return next;
}
