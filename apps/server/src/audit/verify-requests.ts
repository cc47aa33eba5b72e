// Checks that the request tables tell the same story as the (already verified) chain: every
// request has its request.created event, a decided request has exactly its one verdict event and
// a pending one none, and the stored decisions are exactly the decision.recorded events. A row
// flipped to approved with an inserted decision, written past the service, is named here.
import type pg from 'pg';

export interface RequestMismatch {
  requestId: string;
  /** The request's last event in the chain, or where its events would have to be. */
  seq: string;
  detail: string;
  /** With a field mismatch: the fields of the row that differ from its request.created event. */
  fields?: string[];
}

interface StatusRow {
  id: string;
  status: string;
  created_seq: string | null;
  last_seq: string | null;
  verdicts: string[] | null;
}

const VERDICT_EVENTS = ['request.approved', 'request.denied', 'request.expired', 'request.cancelled'];

/** Only the requests created in [from, to): a report's period. */
export interface RequestScope {
  from: Date;
  to: Date;
}

/**
 * SQL conditions limiting the check to a scope, with the scope's bounds as parameters `$n`, `$n+1`
 * of `params`: on a request row (`r`) and on an event (`e`) of such a request.
 */
function scopeFilter(scope: RequestScope | undefined, params: unknown[]): { row: string; event: string } {
  if (!scope) return { row: '', event: '' };
  params.push(scope.from, scope.to);
  const from = `$${params.length - 1}`;
  const to = `$${params.length}`;
  return {
    row: ` AND r.created_at >= ${from} AND r.created_at < ${to}`,
    event: ` AND e.request_id IN (SELECT s.id FROM approval_requests s WHERE s.created_at >= ${from} AND s.created_at < ${to})`,
  };
}

/**
 * The first request (oldest first) whose rows disagree with the chain, or null. With `scope`, only
 * the requests created in it (and the events of those requests) are compared.
 */
export async function findRequestMismatch(
  client: pg.ClientBase,
  chainEnd: string,
  scope?: RequestScope,
): Promise<RequestMismatch | null> {
  const nextSeq = String(BigInt(chainEnd) + 1n);
  const statusParams: unknown[] = [VERDICT_EVENTS];
  const statusScope = scopeFilter(scope, statusParams);
  // Only the events this check needs (request.created and verdicts), aggregated in one hash pass.
  // The mismatches are collected before they are ordered (MATERIALIZED): with ORDER BY … LIMIT 1
  // straight over the join, the planner walks requests in created_at order and rescans the
  // aggregate for each, which over an intact chain of 1 M events never ends (O(requests²)).
  const { rows: statuses } = await client.query<StatusRow>(
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
  const status = statuses[0];
  if (status) {
    const seq = status.last_seq ?? nextSeq;
    if (status.created_seq === null) {
      return {
        requestId: status.id,
        seq,
        detail: `request ${status.id} (${status.status}) has no request.created event in the chain: it was written to the database directly`,
      };
    }
    const chain = status.verdicts?.join(', ') ?? 'no verdict event';
    return {
      requestId: status.id,
      seq,
      detail: `request ${status.id}: its status is ${status.status} in approval_requests but the chain has ${chain} for it: its row was changed outside the service`,
    };
  }
  const fields = await findFieldMismatch(client, scope);
  if (fields) return fields;
  // In a scope: the requests whose request.created event falls in it (their rows are gone, so
  // their creation time is the event's).
  const orphanParams: unknown[] = [];
  if (scope) orphanParams.push(scope.from, scope.to);
  const { rows: orphans } = await client.query<{ id: string; last_seq: string }>(
    `SELECT e.request_id::text AS id, max(e.seq)::text AS last_seq FROM audit_events e
      WHERE e.type = 'request.created' AND NOT EXISTS (SELECT 1 FROM approval_requests r WHERE r.id = e.request_id)
            ${scope ? 'AND e.occurred_at >= $1 AND e.occurred_at < $2' : ''}
      GROUP BY e.request_id ORDER BY min(e.seq) LIMIT 1`,
    orphanParams,
  );
  const orphan = orphans[0];
  if (orphan) {
    return {
      requestId: orphan.id,
      seq: orphan.last_seq,
      detail: `request ${orphan.id} is in the chain but its row is gone from approval_requests`,
    };
  }
  const decisionParams: unknown[] = [];
  const decisionScope = scopeFilter(scope, decisionParams);
  // Decisions: the stored (request, approver, verdict) rows and the decision.recorded events must
  // be the same multiset. (Reasons are not compared: a reason may be masked in one place only.)
  // Counted in one hash aggregate (+1 stored, -1 chain): a group whose count is not zero is in
  // one multiset more often than in the other, which is what EXCEPT ALL both ways would find.
  const { rows: decisions } = await client.query<{
    id: string;
    email: string;
    verdict: string;
    side: string;
  }>(
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
  const decision = decisions[0];
  if (decision) {
    const { rows: last } = await client.query<{ seq: string | null }>(
      `SELECT max(seq)::text AS seq FROM audit_events WHERE request_id = $1::uuid`,
      [decision.id],
    );
    return {
      requestId: decision.id,
      seq: last[0]?.seq ?? nextSeq,
      detail:
        decision.side === 'stored'
          ? `request ${decision.id}: its decisions include a stored ${decision.verdict} by ${decision.email} that no decision.recorded event in the chain records: it was inserted outside the service`
          : `request ${decision.id}: its decisions are missing the ${decision.verdict} by ${decision.email} that the chain records: its decision row was removed or changed`,
    };
  }
  return null;
}

/**
 * Each field a reviewer or executor relies on, compared between the row and its request.created
 * event; null when none differs. A field the event does not carry (written before it was added)
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

async function findFieldMismatch(
  client: pg.ClientBase,
  scope: RequestScope | undefined,
): Promise<RequestMismatch | null> {
  const params: unknown[] = [];
  const filter = scopeFilter(scope, params);
  const { rows } = await client.query<{ id: string; seq: string; fields: string[]; last_seq: string }>(
    scope ? fieldsSql(filter) : FIELDS_SQL,
    params,
  );
  const row = rows[0];
  if (!row) return null;
  const verb = row.fields.length === 1 ? 'differs' : 'differ';
  return {
    requestId: row.id,
    seq: row.last_seq,
    detail: `request ${row.id}: its ${row.fields.join(', ')} in approval_requests ${verb} from its request.created event (seq ${row.seq}): the row was changed outside the service`,
    fields: row.fields,
  };
}
