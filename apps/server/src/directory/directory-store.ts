// Every write to the directory (people, groups, memberships) with its audit events, in one
// transaction each: what the identity provider changed is in the chain before it counts.
import { randomUUID } from 'node:crypto';
import { chainBatchJson } from '../audit/append-event.ts';
import type { DirectoryAuditEventInput } from '../audit/event-types.ts';
import type { Prisma, PrismaClient } from '../db/client.ts';
import { ScimError } from './scim-error.ts';
import type { Equality } from './scim-filter.ts';
import { patchGroup, patchUser, type GroupState, type UserState } from './scim-patch.ts';
import {
  eligibilityEmail,
  type GroupIn,
  type GroupRow,
  type PatchOperation,
  type UserIn,
  type UserRow,
} from './scim-resources.ts';

type Tx = Prisma.TransactionClient;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WITH_GROUPS = { memberships: { include: { group: { select: { id: true, displayName: true } } } } };
const WITH_MEMBERS = {
  members: {
    include: { user: { select: { id: true, userName: true } } },
    where: { user: { removedAt: null } },
  },
} as const;

export const USER_FILTERS = ['userName', 'externalId', 'id', 'emails.value', 'emails[type eq "work"].value'];
export const GROUP_FILTERS = ['displayName', 'externalId', 'id'];

export interface Page<T> {
  total: number;
  rows: T[];
}

function notFound(kind: 'User' | 'Group', id: string): ScimError {
  return new ScimError(404, `${kind} ${id} not found`);
}

function userWhere(filters: readonly Equality[]): Prisma.DirectoryUserWhereInput {
  const where: Prisma.DirectoryUserWhereInput = { removedAt: null };
  const and: Prisma.DirectoryUserWhereInput[] = [];
  for (const { attribute, value } of filters) {
    if (attribute === 'userName') and.push({ userNameKey: value.toLowerCase() });
    else if (attribute === 'externalId') and.push({ externalId: value });
    else if (attribute === 'id') and.push(UUID.test(value) ? { id: value } : { id: { in: [] } });
    else and.push({ email: value.toLowerCase() });
  }
  return and.length > 0 ? { ...where, AND: and } : where;
}

export async function listUsers(
  prisma: PrismaClient,
  filters: readonly Equality[],
  startIndex: number,
  count: number,
): Promise<Page<UserRow>> {
  const where = userWhere(filters);
  const [total, rows] = await Promise.all([
    prisma.directoryUser.count({ where }),
    prisma.directoryUser.findMany({
      where,
      include: WITH_GROUPS,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      skip: startIndex - 1,
      take: count,
    }),
  ]);
  return { total, rows };
}

export async function getUser(prisma: PrismaClient | Tx, id: string): Promise<UserRow> {
  const row = UUID.test(id)
    ? await prisma.directoryUser.findFirst({ where: { id, removedAt: null }, include: WITH_GROUPS })
    : null;
  if (!row) throw notFound('User', id);
  return row;
}

function stateOf(input: UserIn, fallbackActive: boolean): UserState {
  return {
    userName: input.userName,
    externalId: input.externalId ?? null,
    displayName: input.displayName ?? null,
    name: input.name ? { ...input.name } : null,
    emails: (input.emails ?? []).map((e) => ({ value: e.value, type: e.type, primary: e.primary })),
    active: input.active ?? fallbackActive,
  };
}

function rowState(row: UserRow): UserState {
  return {
    userName: row.userName,
    externalId: row.externalId,
    displayName: row.displayName,
    name: row.name && typeof row.name === 'object' ? (row.name as Record<string, unknown>) : null,
    emails: Array.isArray(row.emails) ? (row.emails as UserState['emails']) : [],
    active: row.active,
  };
}

function userData(state: UserState, now: Date) {
  return {
    userName: state.userName,
    userNameKey: state.userName.toLowerCase(),
    externalId: state.externalId,
    displayName: state.displayName,
    name: (state.name ?? undefined) as Prisma.InputJsonValue | undefined,
    emails: state.emails as Prisma.InputJsonValue,
    email: eligibilityEmail(state),
    active: state.active,
    updatedAt: now,
  };
}

async function commit(tx: Tx, events: DirectoryAuditEventInput[], now: Date): Promise<void> {
  if (events.length === 0) return;
  await tx.$queryRawUnsafe('SELECT countersign_append_audit_events($1::jsonb)', chainBatchJson(events, now));
}

async function assertUserNameFree(tx: Tx, userName: string, exceptId: string | null): Promise<void> {
  const taken = await tx.directoryUser.findUnique({ where: { userNameKey: userName.toLowerCase() } });
  if (taken && taken.id !== exceptId && !taken.removedAt) {
    throw new ScimError(409, `a User with userName "${userName}" already exists`, 'uniqueness');
  }
}

export async function createUser(prisma: PrismaClient, input: UserIn, actor: string): Promise<UserRow> {
  const now = new Date();
  return prisma.$transaction(async (tx) => {
    await assertUserNameFree(tx, input.userName, null);
    const state = stateOf(input, true);
    // A person removed earlier and provisioned again keeps their row (and its history).
    const tombstone = await tx.directoryUser.findUnique({
      where: { userNameKey: input.userName.toLowerCase() },
    });
    const row = tombstone
      ? await tx.directoryUser.update({
          where: { id: tombstone.id },
          data: { ...userData(state, now), removedAt: null },
          include: WITH_GROUPS,
        })
      : await tx.directoryUser.create({
          data: { ...userData(state, now), createdAt: now },
          include: WITH_GROUPS,
        });
    const who = { userId: row.id, userName: row.userName, email: row.email };
    const events: DirectoryAuditEventInput[] = [{ type: 'directory.user.created', actor, payload: who }];
    if (!row.active) events.push({ type: 'directory.user.deactivated', actor, payload: who });
    await commit(tx, events, now);
    return row;
  });
}

async function writeUser(
  prisma: PrismaClient,
  id: string,
  actor: string,
  change: (before: UserState) => UserState,
): Promise<UserRow> {
  const now = new Date();
  return prisma.$transaction(async (tx) => {
    const before = await getUser(tx, id);
    const after = change(rowState(before));
    if (after.userName.toLowerCase() !== before.userName.toLowerCase()) {
      await assertUserNameFree(tx, after.userName, id);
    }
    const row = await tx.directoryUser.update({
      where: { id },
      data: userData(after, now),
      include: WITH_GROUPS,
    });
    const who = { userId: row.id, userName: row.userName, email: row.email };
    const events: DirectoryAuditEventInput[] = [];
    if (before.active && !row.active)
      events.push({ type: 'directory.user.deactivated', actor, payload: who });
    if (!before.active && row.active)
      events.push({ type: 'directory.user.reactivated', actor, payload: who });
    await commit(tx, events, now);
    return row;
  });
}

export function replaceUser(
  prisma: PrismaClient,
  id: string,
  input: UserIn,
  actor: string,
): Promise<UserRow> {
  return writeUser(prisma, id, actor, (before) => stateOf(input, before.active));
}

export function patchUserById(
  prisma: PrismaClient,
  id: string,
  operations: readonly PatchOperation[],
  actor: string,
): Promise<UserRow> {
  return writeUser(prisma, id, actor, (before) => patchUser(before, operations));
}

/** Removes a person: a tombstone stays so a decision in their name is refused as deprovisioned. */
export async function removeUser(prisma: PrismaClient, id: string, actor: string): Promise<void> {
  const now = new Date();
  await prisma.$transaction(async (tx) => {
    const row = await getUser(tx, id);
    const who = { userId: row.id, userName: row.userName, email: row.email };
    const events: DirectoryAuditEventInput[] = row.memberships.map((m) => ({
      type: 'directory.member.removed',
      actor,
      payload: { groupId: m.group.id, group: m.group.displayName, ...who },
    }));
    await tx.directoryMember.deleteMany({ where: { userId: id } });
    await tx.directoryUser.update({ where: { id }, data: { removedAt: now, updatedAt: now } });
    events.push({ type: 'directory.user.removed', actor, payload: who });
    await commit(tx, events, now);
  });
}

function groupWhere(filters: readonly Equality[]): Prisma.DirectoryGroupWhereInput {
  const and: Prisma.DirectoryGroupWhereInput[] = filters.map(({ attribute, value }) =>
    attribute === 'displayName'
      ? { displayNameKey: value.toLowerCase() }
      : attribute === 'externalId'
        ? { externalId: value }
        : UUID.test(value)
          ? { id: value }
          : { id: { in: [] } },
  );
  return and.length > 0 ? { AND: and } : {};
}

export async function listGroups(
  prisma: PrismaClient,
  filters: readonly Equality[],
  startIndex: number,
  count: number,
): Promise<Page<GroupRow>> {
  const where = groupWhere(filters);
  const [total, rows] = await Promise.all([
    prisma.directoryGroup.count({ where }),
    prisma.directoryGroup.findMany({
      where,
      include: WITH_MEMBERS,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      skip: startIndex - 1,
      take: count,
    }),
  ]);
  return { total, rows };
}

export async function getGroup(prisma: PrismaClient | Tx, id: string): Promise<GroupRow> {
  const row = UUID.test(id)
    ? await prisma.directoryGroup.findUnique({ where: { id }, include: WITH_MEMBERS })
    : null;
  if (!row) throw notFound('Group', id);
  return row;
}

async function assertDisplayNameFree(tx: Tx, displayName: string, exceptId: string | null): Promise<void> {
  const taken = await tx.directoryGroup.findUnique({ where: { displayNameKey: displayName.toLowerCase() } });
  if (taken && taken.id !== exceptId) {
    throw new ScimError(409, `a Group named "${displayName}" already exists`, 'uniqueness');
  }
}

/** Writes a group's new state: name, and members added and removed, each audited. */
async function writeGroup(
  tx: Tx,
  id: string,
  before: GroupState & { isNew: boolean },
  after: GroupState,
  actor: string,
  now: Date,
): Promise<GroupRow> {
  if (after.displayName.toLowerCase() !== before.displayName.toLowerCase() || before.isNew) {
    await assertDisplayNameFree(tx, after.displayName, before.isNew ? null : id);
  }
  const added = [...after.members].filter((m) => !before.members.has(m));
  const removed = [...before.members].filter((m) => !after.members.has(m));
  const users = await tx.directoryUser.findMany({
    where: { id: { in: [...added, ...removed].filter((m) => UUID.test(m)) } },
    select: { id: true, userName: true, email: true, removedAt: true },
  });
  const byId = new Map(users.map((u) => [u.id, u]));
  const unknown = added.filter((m) => !byId.get(m) || byId.get(m)?.removedAt);
  if (unknown.length > 0) {
    throw new ScimError(400, `members name no provisioned User: ${unknown.join(', ')}`, 'invalidValue');
  }
  const group = before.isNew
    ? await tx.directoryGroup.create({
        data: {
          id,
          displayName: after.displayName,
          displayNameKey: after.displayName.toLowerCase(),
          externalId: after.externalId,
          createdAt: now,
          updatedAt: now,
        },
      })
    : await tx.directoryGroup.update({
        where: { id },
        data: {
          displayName: after.displayName,
          displayNameKey: after.displayName.toLowerCase(),
          externalId: after.externalId,
          updatedAt: now,
        },
      });
  if (added.length > 0) {
    await tx.directoryMember.createMany({
      data: added.map((userId) => ({ groupId: id, userId, addedAt: now })),
    });
  }
  if (removed.length > 0)
    await tx.directoryMember.deleteMany({ where: { groupId: id, userId: { in: removed } } });
  const events: DirectoryAuditEventInput[] = [];
  if (before.isNew) {
    events.push({
      type: 'directory.group.created',
      actor,
      payload: { groupId: id, displayName: group.displayName },
    });
  } else if (before.displayName !== after.displayName) {
    events.push({
      type: 'directory.group.renamed',
      actor,
      payload: { groupId: id, from: before.displayName, to: after.displayName },
    });
  }
  for (const [type, ids] of [
    ['directory.member.added', added],
    ['directory.member.removed', removed],
  ] as const) {
    for (const userId of ids) {
      const user = byId.get(userId);
      if (!user) continue;
      events.push({
        type,
        actor,
        payload: {
          groupId: id,
          group: group.displayName,
          userId,
          userName: user.userName,
          email: user.email,
        },
      });
    }
  }
  await commit(tx, events, now);
  return getGroup(tx, id);
}

function groupState(row: GroupRow): GroupState {
  return {
    displayName: row.displayName,
    externalId: row.externalId,
    members: new Set(row.members.map((m) => m.user.id)),
  };
}

export async function createGroup(prisma: PrismaClient, input: GroupIn, actor: string): Promise<GroupRow> {
  const now = new Date();
  return prisma.$transaction(async (tx) => {
    const empty = {
      displayName: input.displayName,
      externalId: null,
      members: new Set<string>(),
      isNew: true,
    };
    const after: GroupState = {
      displayName: input.displayName,
      externalId: input.externalId ?? null,
      members: new Set((input.members ?? []).map((m) => m.value)),
    };
    return writeGroup(tx, randomUUID(), empty, after, actor, now);
  });
}

export async function replaceGroup(
  prisma: PrismaClient,
  id: string,
  input: GroupIn,
  actor: string,
): Promise<GroupRow> {
  const now = new Date();
  return prisma.$transaction(async (tx) => {
    const before = groupState(await getGroup(tx, id));
    const after: GroupState = {
      displayName: input.displayName,
      externalId: input.externalId ?? null,
      // A PUT without members keeps them (Okta's profile pushes leave members out).
      members: input.members ? new Set(input.members.map((m) => m.value)) : before.members,
    };
    return writeGroup(tx, id, { ...before, isNew: false }, after, actor, now);
  });
}

export async function patchGroupById(
  prisma: PrismaClient,
  id: string,
  operations: readonly PatchOperation[],
  actor: string,
): Promise<GroupRow> {
  const now = new Date();
  return prisma.$transaction(async (tx) => {
    const before = groupState(await getGroup(tx, id));
    return writeGroup(tx, id, { ...before, isNew: false }, patchGroup(before, operations), actor, now);
  });
}

export async function removeGroup(prisma: PrismaClient, id: string, actor: string): Promise<void> {
  const now = new Date();
  await prisma.$transaction(async (tx) => {
    const row = await getGroup(tx, id);
    await tx.directoryGroup.delete({ where: { id } });
    await commit(
      tx,
      [{ type: 'directory.group.removed', actor, payload: { groupId: id, displayName: row.displayName } }],
      now,
    );
  });
}
