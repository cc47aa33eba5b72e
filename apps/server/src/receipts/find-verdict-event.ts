// A receipt is signed only for a verdict the audit chain records: the request's one verdict event
// must match its status, and its stored decisions must be the decision.recorded events. A row
// flipped to approved in the database, with a decision row inserted, gets no receipt.
import type { RequestWithDecisions } from '../approvals/find-request.ts';
import type { PrismaClient } from '../db/client.ts';
import type { VerdictEvent } from './sign-receipt.ts';

export type VerdictEvidence = { found: true; event: VerdictEvent } | { found: false; reason: string };

interface EventRow {
  seq: string;
  hash: string;
  type: string;
  email: string | null;
  verdict: string | null;
}

const VERDICT_TYPES = ['request.approved', 'request.denied', 'request.expired', 'request.cancelled'];

export async function findVerdictEvent(
  prisma: PrismaClient,
  request: RequestWithDecisions,
): Promise<VerdictEvidence> {
  const rows = await prisma.$queryRaw<EventRow[]>`
    SELECT seq::text AS seq, hash, type, payload->'approver'->>'email' AS email, payload->>'verdict' AS verdict
      FROM audit_events
     WHERE request_id = ${request.id}::uuid AND (type = 'decision.recorded' OR type = ANY(${VERDICT_TYPES}::text[]))
     ORDER BY seq`;
  const verdicts = rows.filter((row) => row.type !== 'decision.recorded');
  const expected = `request.${request.status}`;
  const verdict = verdicts[0];
  if (verdicts.length !== 1 || !verdict || verdict.type !== expected) {
    const found = verdicts.map((v) => `${v.type} (seq ${v.seq})`).join(', ') || 'none';
    return {
      found: false,
      reason: `the request is ${request.status} but its verdict events in the audit chain are: ${found}`,
    };
  }
  const key = (email: string | null, decided: string | null) => `${email ?? ''} ${decided ?? ''}`;
  const chain = rows
    .filter((row) => row.type === 'decision.recorded')
    .map((row) => key(row.email, row.verdict))
    .sort();
  const stored = request.decisions.map((d) => key(d.approverEmail, d.verdict)).sort();
  if (chain.join('\n') !== stored.join('\n')) {
    return {
      found: false,
      reason: 'its stored decisions differ from the decision.recorded events in the audit chain',
    };
  }
  return { found: true, event: { seq: verdict.seq, hash: verdict.hash } };
}
