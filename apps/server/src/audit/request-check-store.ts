// The reads that hold the request tables to the (already verified) chain: the first request whose
// status, fields or decisions disagree with its events, or whose row or events are missing. Each
// reads in the snapshot the chain was verified in.
import type { ReadSnapshot } from '../db/read-snapshot.ts';

/** Only the requests created in [from, to): a report's period. */
export interface RequestScope {
  from: Date;
  to: Date;
}

const VERDICT_EVENTS = ['request.approved', 'request.denied', 'request.expired', 'request.cancelled'];

/**
 * SQL conditions limiting the check to a scope, with the scope's bounds as parameters `$n`, `$n+1`
 * of `params`: on a request row (`r`) and on an event (`e`) of such a request.
 */
function scopeFilter(scope: RequestScope | undefined, params: unknown[]): { row: string; event: string } {
  if (!scope) return { row: '', event: '' };
  params.push(scope.from, scope.to);
  const from = `$${params.length - 1}`;
  const to = `$${params.length}`;
  // The scope's request ids as one array (an init plan run once), so that the events and decisions
  // are read by their request_id index: with `IN (SELECT …)` the planner hash-joined the scope
  // against a scan of every decision and event in the database, which grows with the history.
  return {
    row: ` AND r.created_at >= ${from} AND r.created_at < ${to}`,
    event: ` AND e.request_id = ANY(ARRAY(SELECT s.id FROM approval_requests s WHERE s.created_at >= ${from} AND s.created_at < ${to}))`,
  };
}

/** A request whose status disagrees with its verdict events, or that has no request.created event. */
export interface StatusMismatchRow {
  id: string;
  status: string;
  created_seq: string | null;
  last_seq: string | null;
  verdicts: string[] | null;
}

/** The first request (oldest first) whose status disagrees with the chain, or that it lacks. */
export async function findStatusMismatch(
  client: ReadSnapshot,
  scope: RequestScope | undefined,
): Promise<StatusMismatchRow | undefined> {
  const statusParams: unknown[] = [VERDICT_EVENTS];
  const statusScope = scopeFilter(scope, statusParams);
  // Only the events this check needs (request.created and verdicts), aggregated in one hash pass.
  // The mismatches are collected before they are ordered (MATERIALIZED): with ORDER BY … LIMIT 1
  // straight over the join, the planner walks requests in created_at order and rescans the
  // aggregate for each, which over an intact chain of 1 M events never ends (O(requests²)).
  const { rows } = await client.query<StatusMismatchRow>(
    `WITH ev AS (
       SELECT request_id,
              min(seq) FILTER (WHERE type = 'request.created')::text AS created_seq,
              array_agg(type ORDER BY seq) FILTER (WHERE type = ANY($1::text[])) AS verdicts
         FROM audit_events e
        WHERE request_id IS NOT NULL AND (type = 'request.created' OR type = ANY($1::text[]))${statusScope.event}
        GROUP BY request_id),
     bad AS MATERIALIZED (
       SELECT r.id, r.created_at, r.status::text AS status, ev.created_seq, ev.verdicts
         FROM approval_requests r LEFT JOIN ev ON ev.request_id = r.id
        WHERE (ev.created_seq IS NULL
           OR CASE WHEN r.status = 'pending' THEN ev.verdicts IS NOT NULL
                   ELSE ev.verdicts IS DISTINCT FROM ARRAY['request.' || r.status::text] END)${statusScope.row})
     SELECT bad.id::text AS id, bad.status, bad.created_seq,
            (SELECT max(e.seq)::text FROM audit_events e WHERE e.request_id = bad.id) AS last_seq,
            bad.verdicts
       FROM bad ORDER BY bad.created_at, bad.id LIMIT 1`,
    statusParams,
  );
  return rows[0];
}

/**
 * Each field a reviewer or executor relies on, compared between the row and its request.created
 * event. A field the event does not carry (written before it was added)
 * is not compared. Status and decisions are checked against their own events above and below.
 */
const FIELD_CHECKS: [name: string, differs: string][] = [
  ['action', `r.action IS DISTINCT FROM c.payload->>'action'`],
  ['payloadDigest', `r.payload_digest IS DISTINCT FROM c.payload->>'payloadDigest'`],
  ['requester', `r.requester_email IS DISTINCT FROM c.payload->>'requester'`],
  [
    'approvers',
    `(SELECT coalesce(array_agg(a ORDER BY a), '{}') FROM unnest(r.approvers) a)
       IS DISTINCT FROM (SELECT coalesce(array_agg(a ORDER BY a), '{}')
                           FROM jsonb_array_elements_text(c.payload->'approvers') a)`,
  ],
  ['anyApprover', `r.any_approver IS DISTINCT FROM (c.payload->>'anyApprover')::boolean`],
  ['quorum', `r.quorum IS DISTINCT FROM (c.payload->>'quorum')::int`],
  ['title', `c.payload ? 'title' AND r.title IS DISTINCT FROM c.payload->>'title'`],
  ['reason', `c.payload ? 'reason' AND r.reason IS DISTINCT FROM c.payload->>'reason'`],
  [
    'requesterName',
    `c.payload ? 'requesterName' AND r.requester_name IS DISTINCT FROM c.payload->>'requesterName'`,
  ],
  [
    'requesterProof',
    `c.payload ? 'requesterProof' AND coalesce(r.requester_proof, 'null') IS DISTINCT FROM c.payload->'requesterProof'`,
  ],
  ['agent', `c.payload ? 'agent' AND coalesce(r.agent, 'null') IS DISTINCT FROM c.payload->'agent'`],
  ['context', `c.payload ? 'context' AND r.context IS DISTINCT FROM c.payload->'context'`],
  ['agentOwner', `c.payload ? 'agentOwner' AND r.agent_owner IS DISTINCT FROM c.payload->>'agentOwner'`],
  [
    'denyQuorum',
    `c.payload ? 'denyQuorum' AND r.deny_quorum IS DISTINCT FROM (c.payload->>'denyQuorum')::int`,
  ],
  [
    'denyReasonRequired',
    `c.payload ? 'denyReasonRequired' AND r.deny_reason_required IS DISTINCT FROM (c.payload->>'denyReasonRequired')::boolean`,
  ],
];

const fieldsSql = (scope: { row: string; event: string }) => `WITH c AS MATERIALIZED (
    SELECT e.request_id, min(e.seq) AS seq, (array_agg(e.payload ORDER BY e.seq))[1] AS payload
      FROM audit_events e WHERE e.type = 'request.created' AND e.request_id IS NOT NULL${scope.event}
     GROUP BY e.request_id),
  diff AS MATERIALIZED (
    SELECT r.id, r.created_at, c.seq,
           array_remove(ARRAY[${FIELD_CHECKS.map(([name, differs]) => `CASE WHEN ${differs} THEN '${name}' END`).join(',\n             ')}], NULL) AS fields
      FROM approval_requests r JOIN c ON c.request_id = r.id WHERE true${scope.row})
  SELECT id::text AS id, seq::text AS seq, fields,
         (SELECT max(e.seq)::text FROM audit_events e WHERE e.request_id = diff.id) AS last_seq
    FROM diff WHERE cardinality(fields) > 0 ORDER BY created_at, id LIMIT 1`;

const FIELDS_SQL = fieldsSql({ row: '', event: '' });

/** The first request (oldest first) whose fields differ from its request.created event. */
export async function findFieldMismatchRow(
  client: ReadSnapshot,
  scope: RequestScope | undefined,
): Promise<{ id: string; seq: string; fields: string[]; last_seq: string } | undefined> {
  const params: unknown[] = [];
  const filter = scopeFilter(scope, params);
  const { rows } = await client.query<{ id: string; seq: string; fields: string[]; last_seq: string }>(
    scope ? fieldsSql(filter) : FIELDS_SQL,
    params,
  );
  return rows[0];
}

/** The first request in the chain (by its request.created event) whose row is gone. */
export async function findOrphanedRequest(
  client: ReadSnapshot,
  scope: RequestScope | undefined,
): Promise<{ id: string; last_seq: string } | undefined> {
  // In a scope: the requests whose request.created event falls in it (their rows are gone, so
  // their creation time is the event's).
  const orphanParams: unknown[] = [];
  if (scope) orphanParams.push(scope.from, scope.to);
  const { rows } = await client.query<{ id: string; last_seq: string }>(
    `SELECT e.request_id::text AS id, max(e.seq)::text AS last_seq FROM audit_events e
      WHERE e.type = 'request.created' AND NOT EXISTS (SELECT 1 FROM approval_requests r WHERE r.id = e.request_id)
            ${scope ? 'AND e.occurred_at >= $1 AND e.occurred_at < $2' : ''}
      GROUP BY e.request_id ORDER BY min(e.seq) LIMIT 1`,
    orphanParams,
  );
  return rows[0];
}

/** A (request, approver, verdict) in the stored decisions or in the chain's, but not in both. */
export interface DecisionDifferenceRow {
  id: string;
  email: string;
  verdict: string;
  side: string;
}

/** The first decision (by its request's age) that the stored rows and the chain do not share. */
export async function findDecisionDifference(
  client: ReadSnapshot,
  scope: RequestScope | undefined,
): Promise<DecisionDifferenceRow | undefined> {
  const decisionParams: unknown[] = [];
  const decisionScope = scopeFilter(scope, decisionParams);
  // Decisions: the stored (request, approver, verdict) rows and the decision.recorded events must
  // be the same multiset. (Reasons are not compared: a reason may be masked in one place only.)
  // Counted in one hash aggregate (+1 stored, -1 chain): a group whose count is not zero is in
  // one multiset more often than in the other, which is what EXCEPT ALL both ways would find.
  const { rows } = await client.query<DecisionDifferenceRow>(
    `WITH diff AS MATERIALIZED (
       SELECT request_id, email, verdict, CASE WHEN sum(n) > 0 THEN 'stored' ELSE 'chain' END AS side
         FROM (SELECT e.request_id, e.approver_email AS email, e.verdict::text AS verdict, 1 AS n
                 FROM decisions e WHERE true${decisionScope.event}
               UNION ALL
               SELECT e.request_id, e.payload->'approver'->>'email', e.payload->>'verdict', -1
                 FROM audit_events e WHERE e.type = 'decision.recorded'${decisionScope.event}) d
        GROUP BY request_id, email, verdict HAVING sum(n) <> 0)
     SELECT d.request_id::text AS id, d.email, d.verdict, d.side FROM diff d
       LEFT JOIN approval_requests r ON r.id = d.request_id
      ORDER BY r.created_at NULLS LAST, d.request_id, d.side DESC LIMIT 1`,
    decisionParams,
  );
  return rows[0];
}

/** The seq of the request's last event, null when it has none. */
export async function readLastSeqOfRequest(client: ReadSnapshot, requestId: string): Promise<string | null> {
  const { rows } = await client.query<{ seq: string | null }>(
    `SELECT max(seq)::text AS seq FROM audit_events WHERE request_id = $1::uuid`,
    [requestId],
  );
  return rows[0]?.seq ?? null;
}
