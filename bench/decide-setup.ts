// The pieces the decide benchmark runs on: 200 Slack users who are the policy's approvers, the
// policy itself, a LISTEN connection that timestamps every status change as it commits, and the
// integrity counts read back from the database after a burst.
import pg from 'pg';
import type { FakeSlackUserSpec } from '../test/support/fake-slack.ts';

export const APPROVER_COUNT = 200;
export const CHANNEL_ID = 'C0BENCHDECIDE';
export const SINGLE_ACTION = 'bench.single';
export const QUORUM_ACTION = 'bench.quorum';
/** The product's largest quorum (the policy and request schemas cap it at 100). */
export const QUORUM = 100;
export const REQUESTER = 'requester@example.com';

export function approverEmail(index: number): string {
  return `approver${String(index).padStart(3, '0')}@example.com`;
}

export function approverUserId(index: number): string {
  return `U0BENCH${String(index).padStart(3, '0')}`;
}

export function benchUsers(): Record<string, FakeSlackUserSpec> {
  const users: Record<string, FakeSlackUserSpec> = {};
  for (let i = 0; i < APPROVER_COUNT; i += 1) {
    users[approverUserId(i)] = { name: `approver${i}`, realName: `Approver ${i}`, email: approverEmail(i) };
  }
  return users;
}

export function benchPolicyYaml(): string {
  const emails = Array.from({ length: APPROVER_COUNT }, (_, i) => approverEmail(i));
  return `groups:
  bench-approvers: [${emails.join(', ')}]
defaults:
  channel: slack:${CHANNEL_ID}
rules:
  - name: bench-quorum
    actions: ["${QUORUM_ACTION}"]
    approvers: [group:bench-approvers]
    quorum: ${QUORUM}
  - name: bench-single
    actions: ["${SINGLE_ACTION}"]
    approvers: [group:bench-approvers]
`;
}

/**
 * Timestamps (Date.now() in this process) of the status-change NOTIFYs the database sends at each
 * commit that changes a request's status: one per request unless a verdict was given twice.
 */
export interface StatusWatch {
  changes(requestId: string): number[];
  close(): Promise<void>;
}

export async function watchStatusChanges(url: string): Promise<StatusWatch> {
  const client = new pg.Client({ connectionString: url });
  const seen = new Map<string, number[]>();
  client.on('notification', (message) => {
    if (!message.payload) return;
    const at = Date.now();
    const list = seen.get(message.payload);
    if (list) list.push(at);
    else seen.set(message.payload, [at]);
  });
  await client.connect();
  await client.query('LISTEN countersign_approval_status');
  return {
    changes: (requestId) => seen.get(requestId) ?? [],
    close: () => client.end(),
  };
}

export interface Integrity {
  /** Verdict events beyond the first, per request, summed. */
  doubleVerdicts: number;
  /** Requests that should have reached a verdict and did not. */
  lostVerdicts: number;
  /** Clicks with neither a decision nor a refusal stored. */
  lostClicks: number;
  /** Callback delivery rows beyond one per request. */
  extraDeliveries: number;
}

/**
 * Reads what the database holds for the requests after a burst of `clicks` clicks, each by a
 * distinct approver: every click is a decision or an audited refusal, every request one verdict.
 */
export async function readIntegrity(url: string, requestIds: string[], clicks: number): Promise<Integrity> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const verdicts = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM audit_events
        WHERE request_id = ANY($1::uuid[]) AND type IN ('request.approved', 'request.denied')
        GROUP BY request_id`,
      [requestIds],
    );
    const counts = verdicts.rows.map((r) => Number(r.n));
    const settled = await client.query<{ decisions: string; refusals: string; deliveries: string }>(
      `SELECT (SELECT count(*) FROM decisions WHERE request_id = ANY($1::uuid[]))::text AS decisions,
              (SELECT count(*) FROM audit_events
                WHERE request_id = ANY($1::uuid[]) AND type = 'decision.refused')::text AS refusals,
              (SELECT count(*) FROM callback_deliveries WHERE request_id = ANY($1::uuid[]))::text AS deliveries`,
      [requestIds],
    );
    const row = settled.rows[0];
    if (!row) throw new Error('no integrity row');
    return {
      doubleVerdicts: counts.reduce((sum, n) => sum + Math.max(0, n - 1), 0),
      lostVerdicts: requestIds.length - counts.length,
      lostClicks: Math.max(0, clicks - Number(row.decisions) - Number(row.refusals)),
      extraDeliveries: Math.max(0, Number(row.deliveries) - requestIds.length),
    };
  } finally {
    await client.end();
  }
}
