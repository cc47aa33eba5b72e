// The people of the directory (directory_users, and the memberships a removal ends) as SCIM
// provisions them. Every write runs with its audit events in one transaction: what the identity
// provider changed is in the chain before it counts.
import { randomUUID } from 'node:crypto';
import { appendAuditEvents } from '../audit/append-event.ts';
import type { DirectoryAuditEventInput } from '../audit/event-types.ts';
import type { Database } from '../db/client.ts';
import { inTransaction, type Transaction } from '../db/transaction.ts';
import { ScimError, scimNotFound } from './scim-error.ts';
import { writeUnique } from './scim-unique-write.ts';
import { patchUser, type UserState } from './scim-patch.ts';
import {
  eligibilityEmail,
  SCIM_ID,
  type PatchOperation,
  type UserIn,
  type UserRow,
} from './scim-resources.ts';

const USER_NAME_UNIQUE = 'directory_users_user_name_key_key';

type UserRecord = Omit<UserRow, 'memberships'> & { groups: { id: string; displayName: string }[] };

// A person's columns and their groups (in the order the memberships were written), from `u`.
const USER_COLUMNS = `u.id, u.user_name AS "userName", u.external_id AS "externalId",
  u.display_name AS "displayName", u.name, u.emails, u.email, u.active,
  u.created_at AS "createdAt", u.updated_at AS "updatedAt",
  COALESCE((SELECT json_agg(json_build_object('id', g.id, 'displayName', g.display_name) ORDER BY m.ctid)
              FROM directory_members m JOIN directory_groups g ON g.id = m.group_id
             WHERE m.user_id = u.id), '[]'::json) AS groups`;

function toUserRow({ groups, ...user }: UserRecord): UserRow {
  return { ...user, memberships: groups.map((group) => ({ group })) };
}

/** Reads a provisioned (not removed) person with their groups inside the transaction. */
async function readUser(tx: Transaction, id: string): Promise<UserRow> {
  const [row] = SCIM_ID.test(id)
    ? await tx.query<UserRecord>(
        `SELECT ${USER_COLUMNS} FROM directory_users u WHERE u.id = $1::uuid AND u.removed_at IS NULL`,
        [id],
      )
    : [];
  if (!row) throw scimNotFound('User', id);
  return toUserRow(row);
}

/** Finds the row (live or removed) holding a userName, compared case-insensitively. */
async function findUserNameHolder(
  tx: Transaction,
  userName: string,
): Promise<{ id: string; removedAt: Date | null } | undefined> {
  const [row] = await tx.query<{ id: string; removedAt: Date | null }>(
    `SELECT id, removed_at AS "removedAt" FROM directory_users WHERE user_name_key = $1`,
    [userName.toLowerCase()],
  );
  return row;
}

/** The column values a person's state is written as (after id). */
function userValues(state: UserState, now: Date): unknown[] {
  return [
    state.userName,
    state.userName.toLowerCase(),
    state.externalId,
    state.displayName,
    state.name ? JSON.stringify(state.name) : null,
    JSON.stringify(state.emails),
    eligibilityEmail(state),
    state.active,
    now,
  ];
}

/** Inserts a newly provisioned person. */
async function insertUser(tx: Transaction, state: UserState, now: Date): Promise<UserRow> {
  const [row] = await tx.query<UserRecord>(
    `WITH u AS (
       INSERT INTO directory_users (id, user_name, user_name_key, external_id, display_name, name, emails,
                                    email, active, updated_at, created_at)
       VALUES ($1::uuid, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $10)
       RETURNING *)
     SELECT ${USER_COLUMNS} FROM u`,
    [randomUUID(), ...userValues(state, now)],
  );
  return toUserRow(row!);
}

/**
 * Writes a person's new state (a name left out keeps the one stored); `restore` brings back a
 * removed person's row.
 */
async function updateUser(
  tx: Transaction,
  id: string,
  state: UserState,
  now: Date,
  restore: boolean,
): Promise<UserRow> {
  const [row] = await tx.query<UserRecord>(
    `WITH u AS (
       UPDATE directory_users
          SET user_name = $2, user_name_key = $3, external_id = $4, display_name = $5,
              name = COALESCE($6::jsonb, name), emails = $7::jsonb, email = $8, active = $9, updated_at = $10
              ${restore ? ', removed_at = NULL' : ''}
        WHERE id = $1::uuid
       RETURNING *)
     SELECT ${USER_COLUMNS} FROM u`,
    [id, ...userValues(state, now)],
  );
  if (!row) throw scimNotFound('User', id);
  return toUserRow(row);
}

/** Ends a person's memberships and marks their row removed (the tombstone stays). */
async function markUserRemoved(tx: Transaction, id: string, now: Date): Promise<void> {
  await tx.query(`DELETE FROM directory_members WHERE user_id = $1::uuid`, [id]);
  await tx.query(`UPDATE directory_users SET removed_at = $2, updated_at = $2 WHERE id = $1::uuid`, [
    id,
    now,
  ]);
}

function userNameTaken(userName: string): ScimError {
  return new ScimError(409, `a User with userName "${userName}" already exists`, 'uniqueness');
}

/** Runs a write; a userName taken meanwhile by another writer is the same 409 as the check's. */
function writeInTransaction<T>(
  db: Database,
  userName: () => string | undefined,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  return writeUnique(db, { constraint: USER_NAME_UNIQUE, name: userName, taken: userNameTaken }, work);
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

/** Provisions a person (or brings back one removed earlier, keeping their row and its history). */
export async function createUser(db: Database, input: UserIn, actor: string): Promise<UserRow> {
  const now = new Date();
  return writeInTransaction(
    db,
    () => input.userName,
    async (tx) => {
      const holder = await findUserNameHolder(tx, input.userName);
      if (holder && !holder.removedAt) throw userNameTaken(input.userName);
      const state = stateOf(input, true);
      // A person removed earlier and provisioned again keeps their row (and its history).
      const row = holder
        ? await updateUser(tx, holder.id, state, now, true)
        : await insertUser(tx, state, now);
      const who = { userId: row.id, userName: row.userName, email: row.email };
      const events: DirectoryAuditEventInput[] = [{ type: 'directory.user.created', actor, payload: who }];
      if (!row.active) events.push({ type: 'directory.user.deactivated', actor, payload: who });
      await appendAuditEvents(tx, events, now);
      return row;
    },
  );
}

async function writeUser(
  db: Database,
  id: string,
  actor: string,
  change: (before: UserState) => UserState,
): Promise<UserRow> {
  const now = new Date();
  let renamedTo: string | undefined;
  return writeInTransaction(
    db,
    () => renamedTo,
    async (tx) => {
      const before = await readUser(tx, id);
      const after = change(rowState(before));
      if (after.userName.toLowerCase() !== before.userName.toLowerCase()) {
        renamedTo = after.userName;
        const holder = await findUserNameHolder(tx, after.userName);
        if (holder && holder.id !== id && !holder.removedAt) throw userNameTaken(after.userName);
      }
      const row = await updateUser(tx, id, after, now, false);
      const who = { userId: row.id, userName: row.userName, email: row.email };
      const events: DirectoryAuditEventInput[] = [];
      if (before.active && !row.active)
        events.push({ type: 'directory.user.deactivated', actor, payload: who });
      if (!before.active && row.active)
        events.push({ type: 'directory.user.reactivated', actor, payload: who });
      await appendAuditEvents(tx, events, now);
      return row;
    },
  );
}

/** PUT: replaces a person's attributes (an `active` left out keeps theirs). */
export function replaceUser(db: Database, id: string, input: UserIn, actor: string): Promise<UserRow> {
  return writeUser(db, id, actor, (before) => stateOf(input, before.active));
}

/** PATCH: applies SCIM patch operations to a person. */
export function patchUserById(
  db: Database,
  id: string,
  operations: readonly PatchOperation[],
  actor: string,
): Promise<UserRow> {
  return writeUser(db, id, actor, (before) => patchUser(before, operations));
}

/** Removes a person: a tombstone stays so a decision in their name is refused as deprovisioned. */
export async function removeUser(db: Database, id: string, actor: string): Promise<void> {
  const now = new Date();
  await inTransaction(db, async (tx) => {
    const row = await readUser(tx, id);
    const who = { userId: row.id, userName: row.userName, email: row.email };
    const events: DirectoryAuditEventInput[] = row.memberships.map((m) => ({
      type: 'directory.member.removed',
      actor,
      payload: { groupId: m.group.id, group: m.group.displayName, ...who },
    }));
    await markUserRemoved(tx, id, now);
    events.push({ type: 'directory.user.removed', actor, payload: who });
    await appendAuditEvents(tx, events, now);
  });
}
