// Streams one report row per request created in the period, in keyset batches of (created_at, id),
// with its decisions, chat cards and callback outcome read per batch: memory stays flat.
import { describeRequesterProof, readRequesterProof } from '../../receipts/requester-proof.ts';
import { grantIdOf, grantsById, type ReportGrantRef } from './report-grants.ts';
import type { ReportPeriod } from './report-period.ts';
import {
  cancellationsOf,
  cardsOf,
  decisionsOf,
  type DecisionRecord as StoredDecision,
  eligibilityEventsOf,
  escalationsSince,
  executionsOf,
  latestCallbacksOf,
  requestBatch,
  type ReportFilters,
  type RequestRecord,
} from './report-rows-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

export type { ReportFilters } from './report-rows-store.ts';

export const ROW_BATCH_SIZE = 500;

export interface ReportApprover {
  email: string;
  platform: string;
  verdict: 'approve' | 'deny';
  reason: string | null;
  at: string;
  /** Present (true) when made through the web console's development sign-in. */
  devSignin?: true;
  /** An approval that chose "this tool for N minutes": the window it chose. */
  grantMinutes?: number;
  /** A decision a time-bound grant made (`grant:<id>`): the grant, who approved it, its window. */
  grant?: ReportGrantRef;
  /**
   * What made the decider eligible at that moment (eligibleThrough below): `named approver`, `any
   * approver`, `idp:Data Owners (scim)`, `delegate for bob@example.com`, `policy autoApprove`,
   * `open grant`.
   */
  eligibleThrough: string;
}

export interface ReportRow {
  id: string;
  createdAt: string;
  action: string;
  title: string | null;
  requester: string;
  /** How the requester was established, e.g. "claimed by key laptop" (describeRequesterProof). */
  requesterProof: string;
  agent: string | null;
  policyRule: string | null;
  approvers: ReportApprover[];
  /** Who was asked to decide (lower-cased emails); null when anyone but the requester may. */
  askedApprovers: string[] | null;
  /** Who cancelled the request (`client:<id>` for the API) and why; null unless cancelled. */
  cancelledBy: string | null;
  cancelReason: string | null;
  /** Seconds from creation to the verdict, for approved and denied requests only. */
  timeToDecisionSeconds: number | null;
  status: string;
  decidedAt: string | null;
  payloadDigest: string;
  chat: { channel: string; messageId: string | null }[];
  /** The newest verdict callback: its status and attempts; null when none was due. */
  callback: { status: string; attempts: number } | null;
  /** When an executor started the approved request and how it ended; null when never executed. */
  execution: { executedAt: string; outcome: string; secrets?: string[] } | null;
}

export async function* reportRows(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters = {},
  batchSize = ROW_BATCH_SIZE,
): AsyncGenerator<ReportRow> {
  let after: { createdAt: Date; id: string } | null = null;
  const escalations = await escalationApprovers(db, period);
  for (;;) {
    const rows = await requestBatch(db, period, filters, after, batchSize);
    if (rows.length === 0) return;
    yield* await assembleRows(db, rows, escalations);
    const last = rows[rows.length - 1] as RequestRecord;
    after = { createdAt: last.created_at, id: last.id };
    if (rows.length < batchSize) return;
  }
}

/**
 * The approvers each escalation of the period's requests added (request.escalated events), read
 * once per report: an escalation comes after its request's creation, so only events from the
 * period's start can be one of them. Few requests escalate, so the map stays small.
 */
async function escalationApprovers(db: ReadSnapshot, period: ReportPeriod): Promise<Map<string, string[]>> {
  const rows = await escalationsSince(db, period.from);
  const map = new Map<string, string[]>();
  for (const row of rows) map.set(row.request_id, [...(map.get(row.request_id) ?? []), ...row.approvers]);
  return map;
}

async function assembleRows(
  db: ReadSnapshot,
  requests: RequestRecord[],
  escalations: Map<string, string[]>,
): Promise<ReportRow[]> {
  const ids = requests.map((r) => r.id);
  // One connection (the report's snapshot) runs one query at a time.
  const decisions = await decisionsOf(db, ids);
  const fromChain = await eligibilityFromChain(db, requests, decisions);
  const cards = await cardsOf(db, ids);
  const callbacks = await latestCallbacksOf(db, ids);
  const executions = await executionsOf(db, ids);
  const executionOf = new Map(executions.map((e) => [e.request_id, e]));
  const grantOf = await grantsById(
    db,
    decisions.flatMap((d) => grantIdOf(d.approver_email, d.platform) ?? []),
  );
  // Only cancelled requests show who cancelled them: looking up every request's events for the
  // few cancellations was the batch's most expensive query (~40 % of its time at 1 M events).
  const cancelledIds = requests.filter((r) => r.status === 'cancelled').map((r) => r.id);
  const cancellations = cancelledIds.length === 0 ? [] : await cancellationsOf(db, cancelledIds);
  const cancellationOf = new Map(cancellations.map((c) => [c.request_id, c]));
  const approversOf = groupBy(decisions, (d) => d.request_id);
  const cardsByRequest = groupBy(cards, (c) => c.request_id);
  const callbackOf = new Map(callbacks.map((c) => [c.request_id, c]));
  return requests.map((r) => {
    const isDecided = r.status === 'approved' || r.status === 'denied';
    const callback = callbackOf.get(r.id);
    const execution = executionOf.get(r.id);
    const cancellation = r.status === 'cancelled' ? cancellationOf.get(r.id) : undefined;
    return {
      id: r.id,
      createdAt: r.created_at.toISOString(),
      action: r.action,
      title: r.title,
      requester: r.requester_email,
      requesterProof: proofLine(r.requester_proof),
      agent: r.agent_name,
      policyRule: r.policy_rule,
      approvers: (approversOf.get(r.id) ?? []).map((d) => {
        const grant = grantOf.get(grantIdOf(d.approver_email, d.platform) ?? '');
        return {
          email: d.approver_email,
          platform: d.platform,
          verdict: d.verdict,
          reason: d.reason,
          at: d.created_at.toISOString(),
          ...(d.dev_signin ? { devSignin: true as const } : {}),
          ...(d.grant_minutes !== null ? { grantMinutes: d.grant_minutes } : {}),
          ...(grant ? { grant } : {}),
          eligibleThrough: eligibleThrough(r, d, fromChain.get(membershipKey(r.id, d.approver_email))),
        };
      }),
      // Asked: the rule's approvers, then whoever an escalation added.
      askedApprovers: r.any_approver
        ? null
        : [...new Set([...(r.approvers ?? []), ...(escalations.get(r.id) ?? [])])],
      cancelledBy: cancellation?.actor ?? null,
      cancelReason: cancellation?.reason ?? null,
      timeToDecisionSeconds:
        isDecided && r.decided_at ? (r.decided_at.getTime() - r.created_at.getTime()) / 1000 : null,
      status: r.status,
      decidedAt: r.decided_at?.toISOString() ?? null,
      payloadDigest: r.payload_digest,
      chat: (cardsByRequest.get(r.id) ?? []).map((c) => ({ channel: c.channel, messageId: c.message_id })),
      callback: callback ? { status: callback.status, attempts: callback.attempt_count } : null,
      execution: execution
        ? {
            executedAt: execution.started_at.toISOString(),
            outcome: execution.outcome,
            // Which policy secrets the run received, by name ("PGPASSWORD=db-prod").
            ...(execution.secrets.length > 0 ? { secrets: execution.secrets } : {}),
          }
        : null,
    };
  });
}

type DecisionRecord = Pick<StoredDecision, 'request_id' | 'approver_email' | 'platform' | 'on_behalf_of'>;

function membershipKey(requestId: string, email: string): string {
  return `${requestId} ${email.toLowerCase()}`;
}

/** A decider who is neither asked by name nor a delegate nor the policy: an identity provider group made them eligible. */
/** A person's own decision (not the policy's, a grant's or a delegate's): the chain says what made them eligible. */
function isPersonal(request: RequestRecord, d: DecisionRecord): boolean {
  return (
    !request.any_approver && d.platform !== 'policy' && d.platform !== 'grant' && d.on_behalf_of === null
  );
}

/**
 * What the chain says made each person's decision eligible: the membership its decision.recorded
 * event names (`idp:<group>` with its source, `group:<name>`), or an escalation (request.escalated)
 * that added them. Read only for requests with such decisions, one query per batch.
 */
async function eligibilityFromChain(
  db: ReadSnapshot,
  requests: RequestRecord[],
  decisions: DecisionRecord[],
): Promise<Map<string, string>> {
  const byId = new Map(requests.map((r) => [r.id, r]));
  const unexplained = decisions.filter((d) => {
    const request = byId.get(d.request_id);
    return request !== undefined && isPersonal(request, d);
  });
  if (unexplained.length === 0) return new Map();
  const rows = await eligibilityEventsOf(db, [...new Set(unexplained.map((d) => d.request_id))]);
  const found = new Map<string, string>();
  for (const e of rows) {
    if (e.type === 'request.escalated') {
      for (const email of e.escalated ?? []) {
        const key = membershipKey(e.request_id, email);
        if (!found.has(key)) found.set(key, 'escalation approver');
      }
    } else if (e.via !== null) {
      found.set(membershipKey(e.request_id, e.actor), e.source ? `${e.via} (${e.source})` : e.via);
    }
  }
  return found;
}

/** What made the decider eligible, in the report's words; the chain's eligibleThrough for identity provider groups. */
function eligibleThrough(request: RequestRecord, d: DecisionRecord, fromChain: string | undefined): string {
  if (d.platform === 'policy') return 'policy autoApprove';
  if (d.platform === 'grant') return 'open grant';
  if (d.on_behalf_of !== null) return `delegate for ${d.on_behalf_of}`;
  if (request.any_approver) return 'any approver';
  const escalated = fromChain === 'escalation approver';
  if (fromChain !== undefined && !escalated) return fromChain;
  if ((request.approvers ?? []).includes(d.approver_email)) return 'named approver';
  if (escalated) return fromChain;
  // A decision the chain does not explain is shown as such, never guessed.
  return 'not recorded';
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The stored proof in the one wording every door uses; "claimed" for rows made before proofs were kept. */
function proofLine(stored: unknown): string {
  return describeRequesterProof(readRequesterProof(stored));
}
