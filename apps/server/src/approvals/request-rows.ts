// Raw SQL for the intake path: the request's columns under the names (and types)
// Prisma gives them, so rows written with node-postgres are the same objects Prisma would answer.
import type { ApprovalRequest, Prisma } from '../generated/prisma/client.ts';
import type pg from 'pg';
import type { TransactionDb } from '../db/transaction.ts';
import { runSql } from '../db/transaction.ts';

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
export async function insertRequestRow(tx: TransactionDb, data: NewRequestRow): Promise<ApprovalRequest> {
  return onlyRow(await runSql<ApprovalRequest>(tx, INSERT_REQUEST, insertValues(data)));
}

/**
 * The request row and its chained events in one statement, so one round trip without BEGIN and
 * COMMIT (a statement is its own transaction): the whole write of a request that has no cards.
 * `chainBatch` is chainBatchJson's answer for the events.
 */
export async function insertRequestWithEvents(
  pool: pg.Pool,
  data: NewRequestRow,
  chainBatch: string,
): Promise<ApprovalRequest> {
  const { rows } = await pool.query<ApprovalRequest & { appended: unknown }>(
    `WITH request AS (${INSERT_REQUEST})
     SELECT request.*, countersign_append_audit_events($28::jsonb) AS appended FROM request`,
    [...insertValues(data), chainBatch],
  );
  const { appended: _appended, ...request } = onlyRow(rows);
  return request;
}
