// The approval_requests rows: the insert at intake (its columns under the names and types Prisma
// gives them, so rows written with node-postgres are the same objects Prisma would answer), the
// row locks each use case takes, and the one statement that concludes a request.
import type { ApprovalRequest, Prisma } from '../../generated/prisma/client.ts';
import type { Database } from '../../db/client.ts';
import { runSql, textArrayLiteral, type Transaction } from '../../db/transaction.ts';
import type { ApprovalStatus } from '../../generated/prisma/enums.ts';
import { BUMPED_CARDS_CTE, CHANNELS_WITH_FLUSH_LOCK_SQL } from '../outbox/outbox-store.ts';
import { requestChainColumnsSql } from '../../audit/chain-store.ts';
import { VERDICT_EVENT_TYPES } from '../../audit/request-chain.ts';
import type { PresenceRead } from '../../directory/directory-eligibility.ts';
import { directoryPresenceSql, type DirectoryPresence } from '../../directory/eligibility-store.ts';

const REQUEST_COLUMNS = `id, client_id AS "clientId", status, action, title, reason,
  requester_email AS "requesterEmail", requester_name AS "requesterName", requester_proof AS "requesterProof",
  agent, context,
  payload_digest AS "payloadDigest", approvers, any_approver AS "anyApprover", agent_owner AS "agentOwner",
  quorum, deny_quorum AS "denyQuorum", policy_rule AS "policyRule", deny_reason_required AS "denyReasonRequired",
  grant_up_to AS "grantUpTo", channel, channels, callback_url AS "callbackUrl", idempotency_key AS "idempotencyKey",
  request_hash AS "requestHash", created_at AS "createdAt", expires_at AS "expiresAt", decided_at AS "decidedAt",
  break_glass AS "breakGlass"`;

export type NewRequestRow = Prisma.ApprovalRequestUncheckedCreateInput & {
  id: string;
  createdAt: Date;
  expiresAt: Date;
};

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

const INSERT_REQUEST = `INSERT INTO approval_requests (id, client_id, action, title, reason, requester_email,
    requester_name, agent, context, payload_digest, approvers, any_approver, agent_owner, quorum, deny_quorum,
    policy_rule, deny_reason_required, channel, channels, callback_url, idempotency_key, request_hash,
    created_at, expires_at, requester_proof, grant_up_to, break_glass)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11::text[], $12, $13, $14, $15, $16,
    $17, $18, $19::text[], $20, $21, $22, $23, $24, $25::jsonb, $26, $27)
  RETURNING ${REQUEST_COLUMNS}`;

function insertValues(data: NewRequestRow): unknown[] {
  return [
    data.id,
    data.clientId,
    data.action,
    data.title ?? null,
    data.reason ?? null,
    data.requesterEmail,
    data.requesterName ?? null,
    json(data.agent),
    json(data.context),
    data.payloadDigest,
    data.approvers ?? [],
    data.anyApprover ?? false,
    data.agentOwner ?? null,
    data.quorum,
    data.denyQuorum ?? 1,
    data.policyRule ?? null,
    data.denyReasonRequired ?? false,
    data.channel ?? null,
    data.channels ?? [],
    data.callbackUrl ?? null,
    data.idempotencyKey ?? null,
    data.requestHash,
    data.createdAt,
    data.expiresAt,
    json(data.requesterProof),
    data.grantUpTo ?? null,
    data.breakGlass ?? null,
  ];
}

function onlyRow<Row>(rows: Row[]): Row {
  const [row] = rows;
  if (!row) throw new Error('INSERT … RETURNING answered no row');
  return row;
}

/** INSERT … RETURNING the stored row (jsonb answers its own key order, as a later read would). */
export async function insertRequestRow(tx: Transaction, data: NewRequestRow): Promise<ApprovalRequest> {
  return onlyRow(await runSql<ApprovalRequest>(tx, INSERT_REQUEST, insertValues(data)));
}

/**
 * The request row and its chained events in one statement, so one round trip without BEGIN and
 * COMMIT (a statement is its own transaction): the whole write of a request that has no cards.
 * `chainBatch` is chainBatchJson's answer for the events.
 */
export async function insertRequestWithEvents(
  db: Pick<Database, 'pool'>,
  data: NewRequestRow,
  chainBatch: string,
): Promise<ApprovalRequest> {
  const { rows } = await db.pool.query<ApprovalRequest & { appended: unknown }>(
    `WITH request AS (${INSERT_REQUEST})
     SELECT request.*, countersign_append_audit_events($28::jsonb) AS appended FROM request`,
    [...insertValues(data), chainBatch],
  );
  const { appended: _appended, ...request } = onlyRow(rows);
  return request;
}

/** The earlier request a client made under an Idempotency-Key (stored hashed), with its body's hash. */
export async function findRequestByIdempotencyKey(
  db: Pick<Database, 'pool'>,
  clientId: string,
  idempotencyKey: string,
): Promise<{ id: string; requestHash: string } | undefined> {
  const { rows } = await db.pool.query<{ id: string; requestHash: string }>(
    'SELECT id, request_hash AS "requestHash" FROM approval_requests WHERE client_id = $1 AND idempotency_key = $2',
    [clientId, idempotencyKey],
  );
  return rows[0];
}

/** The request row as a decision reads it, locked (FOR UPDATE) until the transaction ends. */
export interface DecisionLockRow {
  id: string;
  action: string;
  status: string;
  requester_email: string;
  agent_owner: string | null;
  approvers: string[];
  any_approver: boolean;
  quorum: number;
  deny_quorum: number;
  deny_reason_required: boolean;
  expires_at: Date;
  callback_url: string | null;
}

/**
 * Locks request `id` for a decision (SELECT … FOR UPDATE) and reads what deciding needs, then its
 * chain columns (requestChainColumnsSql) and the directory's presence of the decider (when there
 * is one), in one round trip that also opens the transaction. Each read is a statement of its own,
 * so its snapshot is taken once the lock is granted: the chain holds every event that the row's
 * earlier holders committed. `request` is undefined when there is none.
 */
export async function lockRequestForDecision(
  tx: Transaction,
  id: string,
  decider: string | null,
): Promise<{ request: DecisionLockRow | undefined; chainColumns: unknown; presence?: PresenceRead }> {
  const requestId = `${tx.literal(id)}::uuid`;
  const verdictTypes = textArrayLiteral(tx, VERDICT_EVENT_TYPES);
  const [locked = [], chain = [], directory] = await tx.batch([
    `SELECT id, action, status::text AS status, requester_email, agent_owner, approvers, any_approver, quorum,
            deny_quorum, deny_reason_required, expires_at, callback_url
       FROM approval_requests WHERE id = ${requestId} FOR UPDATE`,
    `SELECT ${requestChainColumnsSql(requestId, verdictTypes)}`,
    ...(decider === null ? [] : [directoryPresenceSql(tx.literal(decider))]),
  ]);
  return {
    request: locked[0] as DecisionLockRow | undefined,
    chainColumns: chain[0],
    ...(decider !== null && directory
      ? { presence: { email: decider, presence: directory[0] as DirectoryPresence | undefined } }
      : {}),
  };
}

/** Locks client `clientId`'s request `id` while it is pending; undefined when it is not (or not theirs). */
export async function lockPendingRequestOfClient(
  tx: Transaction,
  id: string,
  clientId: string,
): Promise<{ callbackUrl: string | null } | undefined> {
  const [row] = await tx.query<{ callbackUrl: string | null }>(
    `SELECT callback_url AS "callbackUrl" FROM approval_requests
        WHERE id = $1::uuid AND client_id = $2::uuid AND status = 'pending' FOR UPDATE`,
    [id, clientId],
  );
  return row;
}

/** Locks up to `limit` overdue pending requests, oldest deadline first, skipping rows others hold. */
export function lockOverdueRequests(
  tx: Transaction,
  now: Date,
  limit: number,
): Promise<{ id: string; expires_at: Date; callback_url: string | null }[]> {
  return tx.query<{ id: string; expires_at: Date; callback_url: string | null }>(
    `SELECT id, expires_at, callback_url FROM approval_requests
         WHERE status = 'pending' AND expires_at <= $1
         ORDER BY expires_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED`,
    [now, limit],
  );
}

/** Locks request `id` for its escalation and reads its status, deadline and channels. */
export async function lockRequestForEscalation(
  tx: Transaction,
  id: string,
): Promise<{ status: string; expires_at: Date; channels: string[] } | undefined> {
  const [row] = await tx.query<{ status: string; expires_at: Date; channels: string[] }>(
    `SELECT status::text AS status, expires_at, channels FROM approval_requests
        WHERE id = $1::uuid FOR UPDATE`,
    [id],
  );
  return row;
}

/** What concludes a request, written in one statement (`concludeRequestRow`). */
export interface RequestConclusion {
  id: string;
  status: Exclude<ApprovalStatus, 'pending'>;
  now: Date;
  /** The pending delivery of its verdict callback (the URL as it may be shown), when it has one. */
  delivery: { id: string; url: string } | null;
}

/**
 * Concludes the request in one statement (the row is locked or was just written): its status and
 * decided_at, the pending delivery of its verdict callback, and every card of it bumped with each
 * channel's flush lock taken shared (outbox-store.ts). Answers the bumped cards' channels.
 */
export function concludeRequestRow(
  tx: Transaction,
  conclusion: RequestConclusion,
): Promise<{ channel: string }[]> {
  return runSql<{ channel: string }>(
    tx,
    `WITH concluded AS (
       UPDATE approval_requests SET status = $2::"ApprovalStatus", decided_at = $3 WHERE id = $1::uuid
       RETURNING id
     ), delivery AS (
       INSERT INTO callback_deliveries (id, request_id, url, verdict)
       SELECT $4::uuid, concluded.id, $5, $2::"ApprovalStatus" FROM concluded WHERE $4::uuid IS NOT NULL
     ), ${BUMPED_CARDS_CTE}
     ${CHANNELS_WITH_FLUSH_LOCK_SQL}`,
    [
      conclusion.id,
      conclusion.status,
      conclusion.now,
      conclusion.delivery?.id ?? null,
      conclusion.delivery?.url ?? null,
    ],
  );
}

/** Chains a request refused before anything was stored, in its own one-statement transaction. */
export async function appendRefusalBatch(db: Pick<Database, 'pool'>, chainBatch: string): Promise<void> {
  await db.pool.query('SELECT countersign_append_audit_events($1::jsonb)', [chainBatch]);
}
