// The groups of the directory (directory_groups and their members) as SCIM provisions them. Every
// write runs with its audit events in one transaction: what the identity provider changed is in
// the chain before it counts.
import { randomUUID } from 'node:crypto';
import { appendAuditEvents } from '../audit/append-event.ts';
import type { DirectoryAuditEventInput } from '../audit/event-types.ts';
import type { Database } from '../db/client.ts';
import { inTransaction, type Transaction } from '../db/transaction.ts';
import { ScimError, scimNotFound } from './scim-error.ts';
import { writeUnique } from './scim-unique-write.ts';
import { patchGroup, type GroupState } from './scim-patch.ts';
import { SCIM_ID, type GroupIn, type GroupRow, type PatchOperation } from './scim-resources.ts';

const DISPLAY_NAME_UNIQUE = 'directory_groups_display_name_key_key';

type GroupRecord = Omit<GroupRow, 'members'>;

/** Reads a group with its (not removed) members inside the transaction. */
async function readGroup(tx: Transaction, id: string): Promise<GroupRow> {
  const [group] = SCIM_ID.test(id)
    ? await tx.query<GroupRecord>(
        `SELECT id, display_name AS "displayName", external_id AS "externalId",
                created_at AS "createdAt", updated_at AS "updatedAt"
           FROM directory_groups WHERE id = $1::uuid`,
        [id],
      )
    : [];
  if (!group) throw scimNotFound('Group', id);
  // The same join Prisma runs for getGroup's members (scim-reads.ts), and no ORDER BY: a write
  // answers the members in the order a GET of the group lists them.
  const users = await tx.query<{ id: string; userName: string }>(
    `SELECT m.user_id AS id, j0.user_name AS "userName"
       FROM directory_members m LEFT JOIN directory_users AS j0 ON j0.id = m.user_id
      WHERE j0.removed_at IS NULL AND j0.id IS NOT NULL AND m.group_id = $1::uuid`,
    [id],
  );
  return { ...group, members: users.map((user) => ({ user })) };
}

/** The id of the group holding a displayName (compared case-insensitively), if any. */
async function findDisplayNameHolder(tx: Transaction, displayName: string): Promise<string | undefined> {
  const [row] = await tx.query<{ id: string }>(
    `SELECT id FROM directory_groups WHERE display_name_key = $1`,
    [displayName.toLowerCase()],
  );
  return row?.id;
}

interface MemberUser {
  id: string;
  userName: string;
  email: string | null;
  removedAt: Date | null;
}

/** The people (live or removed) among `ids`; ids that are not uuids name no one. */
async function findMemberUsers(tx: Transaction, ids: readonly string[]): Promise<MemberUser[]> {
  const uuids = ids.filter((m) => SCIM_ID.test(m));
  if (uuids.length === 0) return [];
  return tx.query<MemberUser>(
    `SELECT id, user_name AS "userName", email, removed_at AS "removedAt"
       FROM directory_users WHERE id = ANY($1::uuid[])`,
    [uuids],
  );
}

/** Inserts a new group, or writes an existing one's name and externalId; answers its displayName. */
async function upsertGroupRow(
  tx: Transaction,
  id: string,
  state: GroupState,
  isNew: boolean,
  now: Date,
): Promise<string> {
  const values = [id, state.displayName, state.displayName.toLowerCase(), state.externalId, now];
  const [row] = isNew
    ? await tx.query<{ displayName: string }>(
        `INSERT INTO directory_groups (id, display_name, display_name_key, external_id, created_at, updated_at)
         VALUES ($1::uuid, $2, $3, $4, $5, $5) RETURNING display_name AS "displayName"`,
        values,
      )
    : await tx.query<{ displayName: string }>(
        `UPDATE directory_groups SET display_name = $2, display_name_key = $3, external_id = $4, updated_at = $5
          WHERE id = $1::uuid RETURNING display_name AS "displayName"`,
        values,
      );
  if (!row) throw scimNotFound('Group', id);
  return row.displayName;
}

/** Adds members to a group, in the order given. */
async function insertMembers(tx: Transaction, groupId: string, userIds: readonly string[], now: Date) {
  await tx.query(
    `INSERT INTO directory_members (group_id, user_id, added_at)
     SELECT $1::uuid, user_id, $3 FROM unnest($2::uuid[]) WITH ORDINALITY AS t(user_id, n) ORDER BY n`,
    [groupId, userIds, now],
  );
}

/** Takes members out of a group. */
async function deleteMembers(tx: Transaction, groupId: string, userIds: readonly string[]) {
  await tx.query(`DELETE FROM directory_members WHERE group_id = $1::uuid AND user_id = ANY($2::uuid[])`, [
    groupId,
    userIds,
  ]);
}

/** Deletes a group (its memberships go with it). */
async function deleteGroupRow(tx: Transaction, id: string): Promise<void> {
  await tx.query(`DELETE FROM directory_groups WHERE id = $1::uuid`, [id]);
}

function displayNameTaken(displayName: string): ScimError {
  return new ScimError(409, `a Group named "${displayName}" already exists`, 'uniqueness');
}

/** Writes a group's new state: name, and members added and removed, each audited. */
async function writeGroup(
  tx: Transaction,
  id: string,
  before: GroupState & { isNew: boolean },
  after: GroupState,
  actor: string,
  now: Date,
): Promise<GroupRow> {
  if (after.displayName.toLowerCase() !== before.displayName.toLowerCase() || before.isNew) {
    const holder = await findDisplayNameHolder(tx, after.displayName);
    if (holder !== undefined && holder !== (before.isNew ? null : id))
      throw displayNameTaken(after.displayName);
  }
  const added = [...after.members].filter((m) => !before.members.has(m));
  const removed = [...before.members].filter((m) => !after.members.has(m));
  const users = await findMemberUsers(tx, [...added, ...removed]);
  const byId = new Map(users.map((u) => [u.id, u]));
  const unknown = added.filter((m) => !byId.get(m) || byId.get(m)?.removedAt);
  if (unknown.length > 0) {
    throw new ScimError(400, `members name no provisioned User: ${unknown.join(', ')}`, 'invalidValue');
  }
  const displayName = await upsertGroupRow(tx, id, after, before.isNew, now);
  if (added.length > 0) await insertMembers(tx, id, added, now);
  if (removed.length > 0) await deleteMembers(tx, id, removed);
  const events: DirectoryAuditEventInput[] = [];
  if (before.isNew) {
    events.push({ type: 'directory.group.created', actor, payload: { groupId: id, displayName } });
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
        payload: { groupId: id, group: displayName, userId, userName: user.userName, email: user.email },
      });
    }
  }
  await appendAuditEvents(tx, events, now);
  return readGroup(tx, id);
}

/** Runs a write; a displayName taken meanwhile by another writer is the same 409 as the check's. */
function writeInTransaction<T>(
  db: Database,
  displayName: () => string | undefined,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  return writeUnique(
    db,
    { constraint: DISPLAY_NAME_UNIQUE, name: displayName, taken: displayNameTaken },
    work,
  );
}

function groupState(row: GroupRow): GroupState {
  return {
    displayName: row.displayName,
    externalId: row.externalId,
    members: new Set(row.members.map((m) => m.user.id)),
  };
}

/** POST: creates a group with its first members. */
export async function createGroup(db: Database, input: GroupIn, actor: string): Promise<GroupRow> {
  const now = new Date();
  return writeInTransaction(
    db,
    () => input.displayName,
    async (tx) => {
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
    },
  );
}

/** PUT: replaces a group's name, externalId and (when given) members. */
export async function replaceGroup(
  db: Database,
  id: string,
  input: GroupIn,
  actor: string,
): Promise<GroupRow> {
  const now = new Date();
  return writeInTransaction(
    db,
    () => input.displayName,
    async (tx) => {
      const before = groupState(await readGroup(tx, id));
      const after: GroupState = {
        displayName: input.displayName,
        externalId: input.externalId ?? null,
        // A PUT without members keeps them (Okta's profile pushes leave members out).
        members: input.members ? new Set(input.members.map((m) => m.value)) : before.members,
      };
      return writeGroup(tx, id, { ...before, isNew: false }, after, actor, now);
    },
  );
}

/** PATCH: applies SCIM patch operations (members, displayName) to a group. */
export async function patchGroupById(
  db: Database,
  id: string,
  operations: readonly PatchOperation[],
  actor: string,
): Promise<GroupRow> {
  const now = new Date();
  let renamedTo: string | undefined;
  return writeInTransaction(
    db,
    () => renamedTo,
    async (tx) => {
      const before = groupState(await readGroup(tx, id));
      const after = patchGroup(before, operations);
      renamedTo = after.displayName;
      return writeGroup(tx, id, { ...before, isNew: false }, after, actor, now);
    },
  );
}

/** DELETE: removes a group and its memberships. */
export async function removeGroup(db: Database, id: string, actor: string): Promise<void> {
  const now = new Date();
  await inTransaction(db, async (tx) => {
    const row = await readGroup(tx, id);
    await deleteGroupRow(tx, id);
    await appendAuditEvents(
      tx,
      [{ type: 'directory.group.removed', actor, payload: { groupId: id, displayName: row.displayName } }],
      now,
    );
  });
}
