// One request as its card, its callback and its long-poll show it, read in ONE statement: the row,
// its decisions in order, its chat cards, its break-glass review, and its audit chain record with
// the event keys that sign it (json aggregated). Before, a card flush, a callback or a long-poll
// read the same through Prisma in three statements and the chain in three more; one statement is
// also one snapshot, so the row and the chain it is checked against cannot disagree by a race.
import { z } from 'zod';
import { requestChainColumnsSql } from '../../audit/chain-store.ts';
import {
  requestChainFromColumns,
  VERDICT_EVENT_TYPES,
  type RequestChainResult,
} from '../../audit/request-chain.ts';
import type { Database } from '../../db/client.ts';
import type { Transaction } from '../../db/transaction.ts';
import type { RequestWithDecisions } from '../find-request.ts';

export interface RequestView {
  /** With its break-glass review loaded (null when it has none). */
  request: RequestWithDecisions;
  chain: RequestChainResult;
  /** The approvers the chain's request.escalated events added, or undefined when not escalated. */
  escalatedTo: string[] | undefined;
}

/** Where a view is read: the pool (a statement is its own snapshot), or an open transaction. */
export type ViewSource = Pick<Database, 'pool'> | Transaction;

/** Runs one parameterised statement on `source` and answers its rows. */
async function rowsOf(source: ViewSource, text: string, values: readonly unknown[]): Promise<unknown[]> {
  if ('kind' in source) return source.query(text, values);
  return (await source.pool.query(text, values as unknown[])).rows as unknown[];
}

const timestamp = z.union([z.date(), z.string().transform((text) => new Date(text))]);
const nullableTimestamp = timestamp.nullable();
const json = z.json();

const decisionSchema = z.object({
  id: z.string(),
  requestId: z.string(),
  approverEmail: z.string(),
  platform: z.string(),
  platformUserId: z.string().nullable(),
  displayName: z.string().nullable(),
  verdict: z.enum(['approve', 'deny']),
  reason: z.string().nullable(),
  createdAt: timestamp,
  devSignin: z.boolean(),
  grantMinutes: z.number().int().nullable(),
  onBehalfOf: z.string().nullable(),
});

const chatCardSchema = z.object({
  id: z.string().transform((text) => BigInt(text)),
  requestId: z.string(),
  channel: z.string(),
  messageId: z.string().nullable(),
  version: z.number().int(),
  shownVersion: z.number().int(),
  postAttemptedAt: nullableTimestamp,
  postedAt: nullableTimestamp,
  failedAt: nullableTimestamp,
  error: z.string().nullable(),
  createdAt: timestamp,
});

const breakGlassReviewSchema = z.object({
  requestId: z.string(),
  policyRule: z.string(),
  requesterEmail: z.string(),
  apiKeyId: z.string().nullable(),
  reviewers: z.array(z.string()),
  dueAt: timestamp,
  outcome: z.string().nullable(),
  reviewedBy: z.string().nullable(),
  note: z.string().nullable(),
  reviewedAt: nullableTimestamp,
  overdueAt: nullableTimestamp,
  createdAt: timestamp,
});

const requestSchema = z.object({
  id: z.string(),
  clientId: z.string(),
  status: z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']),
  action: z.string(),
  title: z.string().nullable(),
  reason: z.string().nullable(),
  requesterEmail: z.string(),
  requesterName: z.string().nullable(),
  requesterProof: json.nullable(),
  agent: json.nullable(),
  context: json,
  payloadDigest: z.string(),
  approvers: z.array(z.string()),
  anyApprover: z.boolean(),
  agentOwner: z.string().nullable(),
  quorum: z.number().int(),
  denyQuorum: z.number().int(),
  policyRule: z.string().nullable(),
  denyReasonRequired: z.boolean(),
  grantUpTo: z.number().int().nullable(),
  channel: z.string().nullable(),
  channels: z.array(z.string()),
  callbackUrl: z.string().nullable(),
  idempotencyKey: z.string().nullable(),
  requestHash: z.string(),
  createdAt: timestamp,
  expiresAt: timestamp,
  decidedAt: nullableTimestamp,
  breakGlass: z.string().nullable(),
  decisions: z.array(decisionSchema),
  chatCards: z.array(chatCardSchema),
  breakGlassReview: breakGlassReviewSchema.nullable(),
});

/** The select-list of the request with its decisions, cards and review; the request is `r`. */
const REQUEST_COLUMNS = `
  r.id::text AS "id", r.client_id::text AS "clientId", r.status::text AS "status", r.action, r.title,
  r.reason, r.requester_email AS "requesterEmail", r.requester_name AS "requesterName",
  r.requester_proof AS "requesterProof", r.agent, r.context, r.payload_digest AS "payloadDigest",
  coalesce(r.approvers, '{}') AS "approvers", r.any_approver AS "anyApprover",
  r.agent_owner AS "agentOwner", r.quorum, r.deny_quorum AS "denyQuorum", r.policy_rule AS "policyRule",
  r.deny_reason_required AS "denyReasonRequired", r.grant_up_to AS "grantUpTo", r.channel,
  coalesce(r.channels, '{}') AS "channels", r.callback_url AS "callbackUrl",
  r.idempotency_key AS "idempotencyKey", r.request_hash AS "requestHash", r.created_at AS "createdAt",
  r.expires_at AS "expiresAt", r.decided_at AS "decidedAt", r.break_glass AS "breakGlass",
  (SELECT coalesce(json_agg(json_build_object('id', d.id, 'requestId', d.request_id,
          'approverEmail', d.approver_email, 'platform', d.platform, 'platformUserId', d.platform_user_id,
          'displayName', d.display_name, 'verdict', d.verdict, 'reason', d.reason, 'createdAt', d.created_at,
          'devSignin', d.dev_signin, 'grantMinutes', d.grant_minutes, 'onBehalfOf', d.on_behalf_of)
          ORDER BY d.created_at, d.id), '[]'::json)
     FROM decisions d WHERE d.request_id = r.id) AS "decisions",
  (SELECT coalesce(json_agg(json_build_object('id', c.id::text, 'requestId', c.request_id,
          'channel', c.channel, 'messageId', c.message_id, 'version', c.version,
          'shownVersion', c.shown_version, 'postAttemptedAt', c.post_attempted_at, 'postedAt', c.posted_at,
          'failedAt', c.failed_at, 'error', c.error, 'createdAt', c.created_at)
          ORDER BY c.id), '[]'::json)
     FROM chat_cards c WHERE c.request_id = r.id) AS "chatCards",
  (SELECT json_build_object('requestId', b.request_id, 'policyRule', b.policy_rule,
          'requesterEmail', b.requester_email, 'apiKeyId', b.api_key_id,
          'reviewers', coalesce(b.reviewers, '{}'), 'dueAt', b.due_at, 'outcome', b.outcome,
          'reviewedBy', b.reviewed_by, 'note', b.note, 'reviewedAt', b.reviewed_at,
          'overdueAt', b.overdue_at, 'createdAt', b.created_at)
     FROM break_glass_reviews b WHERE b.request_id = r.id) AS "breakGlassReview"`;

const CHAIN_COLUMNS = requestChainColumnsSql('r.id', '$2');

/**
 * The view of a request read by `from` and `where` (which name the request `r` and may use `$1`,
 * and `$3` onwards for `values`), with any `extra` columns: the view and the row.
 */
export async function readRequestViewWhere(
  source: ViewSource,
  sql: { from: string; where: string; extra?: string },
  first: unknown,
  values: readonly unknown[] = [],
): Promise<{ view: RequestView; row: Record<string, unknown> } | null> {
  const [row] = await rowsOf(
    source,
    `SELECT ${REQUEST_COLUMNS}, ${CHAIN_COLUMNS}${sql.extra ? `, ${sql.extra}` : ''}
       FROM ${sql.from} WHERE ${sql.where}`,
    [first, VERDICT_EVENT_TYPES, ...values],
  );
  if (row === undefined) return null;
  return { view: viewOfRow(row), row: row as Record<string, unknown> };
}

/** One row of REQUEST_COLUMNS and CHAIN_COLUMNS as the request's view. */
function viewOfRow(row: unknown): RequestView {
  const request: RequestWithDecisions = requestSchema.parse(row);
  const chain = requestChainFromColumns(request.id, row);
  const escalations = chain.found ? chain.chain.escalations : [];
  return {
    request,
    chain,
    escalatedTo: escalations.length > 0 ? escalations.flatMap((e) => e.approvers) : undefined,
  };
}

/**
 * The views of the requests `ids`, in that order, read in one statement (a page of a list: before,
 * each item took its own reads of the review and the chain). Ids with no request are left out.
 */
export async function readRequestViews(source: ViewSource, ids: readonly string[]): Promise<RequestView[]> {
  if (ids.length === 0) return [];
  const rows = await rowsOf(
    source,
    `SELECT ${REQUEST_COLUMNS}, ${CHAIN_COLUMNS}
       FROM unnest($1::uuid[]) WITH ORDINALITY AS page(id, n)
       JOIN approval_requests r ON r.id = page.id
      ORDER BY page.n`,
    [ids, VERDICT_EVENT_TYPES],
  );
  return rows.map((row) => viewOfRow(row));
}

/** The view of request `id` (of `clientId` only, when given); null when there is none. */
export async function readRequestView(
  source: ViewSource,
  id: string,
  clientId?: string,
): Promise<RequestView | null> {
  const read = await readRequestViewWhere(
    source,
    {
      from: 'approval_requests r',
      where: clientId === undefined ? 'r.id = $1::uuid' : 'r.id = $1::uuid AND r.client_id = $3::uuid',
    },
    id,
    clientId === undefined ? [] : [clientId],
  );
  return read?.view ?? null;
}

/**
 * The request with its decisions and cards as the open transaction `tx` has left them, without its
 * chain (whose events the transaction may not have appended yet): what a decision returns. Read in
 * the transaction's last round trip, with `append` (the chain append, when there are events: it
 * runs after the read, so the chain lock is not held for it) and the COMMIT.
 */
export async function readRequestAndCommit(
  tx: Transaction,
  id: string,
  append: string | null,
): Promise<RequestWithDecisions> {
  const [rows = []] = await tx.batch(
    [
      `SELECT ${REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = ${tx.literal(id)}::uuid`,
      ...(append === null ? [] : [append]),
    ],
    { commit: true },
  );
  const [row] = rows;
  if (row === undefined) throw new Error(`request ${id} is gone from its own transaction`);
  return requestSchema.parse(row);
}
