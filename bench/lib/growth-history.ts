// The seeded histories of the growth benchmark: a database per size (countersign_bench_growth_10k,
// …_1m), seeded once on the server side and kept, then cloned (CREATE DATABASE … TEMPLATE) for each
// run so that the run's own writes never reach the seed. Every request of the history belongs to
// one client, posts its card to the bench's Slack channel and has four chained audit events, built
// by INSERT … SELECT over generate_series; the chain hashes are computed by a plpgsql loop in the
// same way countersign_append_audit_events links (sha256(prev_hash ‖ canonical JSON)), and the
// seeded events count as written before event signing began, as audit-history.ts marks them. Each
// request.created event carries the fields the service records in it (expiresAt, policyRule, title,
// context, channels), so the rows agree with the chain and a list signs receipts as it would live.
// The receipt key is stored as a first start stores it, and the service's checkpoint code signs the
// chain head at the last hourly tick (the default COUNTERSIGN_CHECKPOINT_INTERVAL_MIN) at or before
// the 6-hour window the benchmark reports on: the events before the tick are seeded, the checkpoint
// appended, then the rest, as a deployment that checkpoints on schedule would have its chain.
import pg from 'pg';
import { createCheckpoint } from '../../apps/server/src/audit/create-checkpoint.ts';
import { createApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createDatabase } from '../../apps/server/src/db/client.ts';
import { loadReceiptKey } from '../../apps/server/src/receipts/load-receipt-key.ts';
import { createReceiptSigner } from '../../apps/server/src/receipts/sign-receipt.ts';
import { displayPrefix, generateApiKey, hashApiKey } from '../../apps/server/src/keys/key-material.ts';
import { ADMIN_URL } from '../bench-database.ts';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { createLogger } from '../../apps/server/src/observability/logger.ts';

export const GROWTH_CHANNEL_ID = 'C0BENCHGROWTH';
export const GROWTH_CHANNEL = `slack:${GROWTH_CHANNEL_ID}`;
export const GROWTH_START = new Date('2025-01-01T00:00:00.000Z');
/** Ten seconds between requests: a 6-hour window holds the same 2,160 requests at every size. */
export const REQUEST_SPACING_S = 10;
export const EVENTS_PER_REQUEST = 4;
/** The window the benchmark reports on: the last 6 hours of the history. */
export const REPORT_WINDOW_MS = 6 * 3_600_000;
/** The checkpoint schedule of a deployment left at the default (COUNTERSIGN_CHECKPOINT_INTERVAL_MIN=60). */
export const CHECKPOINT_INTERVAL_MS = 60 * 60_000;
/** A request's last event (its verdict) comes this long after its first. */
const REQUEST_SPAN_S = 3 * 60;
const EXPIRES_IN_S = 3_600;
const POLICY_RULE = 'bench-growth';
/** Raised whenever the seeded rows change, so that a kept seed of an older shape is seeded again. */
const SEED_VERSION = '2';
export const GROWTH_ACTIONS = ['deploy.production', 'db.migrate', 'iam.grant', 'secrets.read', 'k8s.scale'];
export const GROWTH_REQUESTERS = 97;
/** Status per request index mod 10. */
const STATUS_SQL = `(CASE WHEN i % 10 < 6 THEN 'approved' WHEN i % 10 < 8 THEN 'denied' WHEN i % 10 = 8 THEN 'expired' ELSE 'cancelled' END)`;

export interface GrowthHistory {
  /** The clone this run works on. */
  url: string;
  events: number;
  requests: number;
  /** Seconds the seed took, or 0 when the kept seed was reused. */
  seededSeconds: number;
  /** An API key of the history's client, valid in the clone only. */
  key: string;
  clientId: string;
  /** The end of the seeded history (the last request's created_at + spacing). */
  end: Date;
  drop(): Promise<void>;
}

/** The end of a history of `events` events: the last request's created_at + spacing. */
export function growthEnd(events: number): Date {
  return new Date(GROWTH_START.getTime() + growthRequests(events) * REQUEST_SPACING_S * 1000);
}

/**
 * Where the seeded signed checkpoint goes: at the last hourly tick (counted from GROWTH_START) at
 * or before the report window, after the requests whose events all came before that tick. Null
 * when no request is complete by then (the window starts within the history's first hour).
 */
export function growthCheckpoint(events: number): { at: Date; requestsBefore: number } | null {
  const windowStart = growthEnd(events).getTime() - REPORT_WINDOW_MS;
  const sinceStart = windowStart - GROWTH_START.getTime();
  if (sinceStart < 0) return null;
  const tickS = (Math.floor(sinceStart / CHECKPOINT_INTERVAL_MS) * CHECKPOINT_INTERVAL_MS) / 1000;
  // Request i is complete at i × spacing + its span: those with that ≤ the tick come before it.
  const requestsBefore = Math.min(
    growthRequests(events),
    Math.max(0, Math.floor((tickS - REQUEST_SPAN_S) / REQUEST_SPACING_S) + 1),
  );
  if (requestsBefore === 0) return null;
  return { at: new Date(GROWTH_START.getTime() + tickS * 1000), requestsBefore };
}

/** The name of the kept seed for a size: countersign_bench_growth_10k, …_100k, …_1m. */
export function growthDatabaseName(events: number): string {
  const label =
    events >= 1_000_000 && events % 1_000_000 === 0
      ? `${events / 1_000_000}m`
      : events % 1000 === 0
        ? `${events / 1000}k`
        : String(events);
  return `countersign_bench_growth_${label}`;
}

/** The number of requests a history of `events` events holds (four events each, rounded up). */
export function growthRequests(events: number): number {
  return Math.ceil(events / EVENTS_PER_REQUEST);
}

function urlOf(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(use: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.end();
  }
}

/** The seed's client and event count, or null when the database is missing or not a finished seed. */
async function readSeed(name: string): Promise<{ clientId: string; events: number } | null> {
  const exists = await withAdmin(async (admin) => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  });
  if (!exists) return null;
  const client = new pg.Client({ connectionString: urlOf(name) });
  await client.connect();
  try {
    const { rows } = await client.query<{ client_id: string; events: string; version: string | null }>(
      `SELECT (SELECT value FROM growth_seed WHERE key = 'client_id') AS client_id,
              (SELECT value FROM growth_seed WHERE key = 'events') AS events,
              (SELECT value FROM growth_seed WHERE key = 'version') AS version`,
    );
    const row = rows[0];
    return row?.client_id && row.events && row.version === SEED_VERSION
      ? { clientId: row.client_id, events: Number(row.events) }
      : null;
  } catch {
    return null; // no growth_seed table: an unfinished seed
  } finally {
    await client.end();
  }
}

const DIGEST = `encode(sha256(convert_to('digest-' || i, 'UTF8')), 'hex')`;
const APPROVERS_JSON = '["alice@example.com","bob@example.com","carol@example.com"]';
const CHANNELS_JSON = `["${GROWTH_CHANNEL}"]`;
const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const J = (text: string) => `to_json(${text})::text`;

/** Requests [from, to): one statement per table, all in one transaction; the chain continues from the head. */
function seedStatements(from: number, to: number, clientId: string): string[] {
  const start = `'${GROWTH_START.toISOString()}'::timestamptz`;
  const at = `(${start} + make_interval(secs => i * ${REQUEST_SPACING_S}))`;
  const id = `md5('growth-request-' || i)::uuid`;
  const action = `(ARRAY[${GROWTH_ACTIONS.map((a) => `'${a}'`).join(', ')}])[1 + i % ${GROWTH_ACTIONS.length}]`;
  const requester = `'dev' || (i % ${GROWTH_REQUESTERS}) || '@example.com'`;
  const series = `generate_series(${from}, ${to - 1}) AS i`;
  const expires = `(${at} + interval '${EXPIRES_IN_S} seconds')`;
  const title = (i: string, act: string) => `${act} || ' #' || ${i}`;
  // Per request: created, a decision, a second decision or a refusal, the verdict (n = 1..4).
  const events = `
    SELECT s.i, s.n, s.request_id, s.occurred_at, s.type, s.actor, s.payload, s.canonical_payload
      FROM (
        SELECT i, n, ${id} AS request_id, ${at} + make_interval(secs => (n - 1) * 60) AS occurred_at,
               ${STATUS_SQL} AS status, ${action} AS action, ${requester} AS requester, ${DIGEST} AS digest,
               ${ISO(expires)} AS expires_at
          FROM ${series}, generate_series(1, 4) AS n
      ) AS r,
      LATERAL (
        SELECT r.i, r.n, r.request_id, r.occurred_at, e.type, e.actor, e.payload, e.canonical_payload
          FROM (VALUES
            (1, 'request.created', 'client:${clientId}',
             jsonb_build_object('action', r.action, 'anyApprover', false, 'approvers', '${APPROVERS_JSON}'::jsonb,
                                'channels', '${CHANNELS_JSON}'::jsonb, 'clientId', '${clientId}',
                                'context', jsonb_build_object('region', 'eu-west-1', 'service', 'api', 'ticket', 'OPS-' || r.i),
                                'expiresAt', r.expires_at, 'payloadDigest', r.digest, 'policyRule', '${POLICY_RULE}',
                                'quorum', 2, 'requester', r.requester, 'title', ${title('r.i', 'r.action')}),
             '{"action":' || ${J('r.action')} || ',"anyApprover":false,"approvers":${APPROVERS_JSON},"channels":${CHANNELS_JSON},"clientId":"${clientId}"'
               || ',"context":{"region":"eu-west-1","service":"api","ticket":"OPS-' || r.i || '"},"expiresAt":"' || r.expires_at
               || '","payloadDigest":"' || r.digest || '","policyRule":"${POLICY_RULE}","quorum":2,"requester":' || ${J('r.requester')}
               || ',"title":' || ${J(title('r.i', 'r.action'))} || '}'),
            (2, 'decision.recorded', CASE WHEN r.status = 'denied' THEN 'carol@example.com' ELSE 'alice@example.com' END,
             jsonb_build_object('approver', jsonb_build_object('email', CASE WHEN r.status = 'denied' THEN 'carol@example.com' ELSE 'alice@example.com' END, 'platform', 'slack'),
                                'reason', NULL, 'verdict', CASE WHEN r.status = 'denied' THEN 'deny' ELSE 'approve' END),
             '{"approver":{"email":"' || CASE WHEN r.status = 'denied' THEN 'carol@example.com' ELSE 'alice@example.com' END
               || '","platform":"slack"},"reason":null,"verdict":"' || CASE WHEN r.status = 'denied' THEN 'deny' ELSE 'approve' END || '"}'),
            (3, CASE WHEN r.status = 'approved' THEN 'decision.recorded' ELSE 'decision.refused' END,
             CASE WHEN r.status = 'approved' THEN 'bob@example.com' ELSE r.requester END,
             CASE WHEN r.status = 'approved'
               THEN jsonb_build_object('approver', jsonb_build_object('email', 'bob@example.com', 'platform', 'slack'), 'reason', NULL, 'verdict', 'approve')
               ELSE jsonb_build_object('approver', jsonb_build_object('email', r.requester, 'platform', 'slack'), 'reason', 'self_approval', 'status', 'pending', 'verdict', 'approve') END,
             CASE WHEN r.status = 'approved'
               THEN '{"approver":{"email":"bob@example.com","platform":"slack"},"reason":null,"verdict":"approve"}'
               ELSE '{"approver":{"email":' || ${J('r.requester')} || ',"platform":"slack"},"reason":"self_approval","status":"pending","verdict":"approve"}' END),
            (4, 'request.' || r.status, CASE WHEN r.status = 'cancelled' THEN 'client:${clientId}' ELSE 'countersign' END,
             CASE r.status
               WHEN 'approved' THEN '{"approvals":["alice@example.com","bob@example.com"],"denials":[],"quorum":2}'::jsonb
               WHEN 'denied' THEN '{"approvals":[],"denials":["carol@example.com"],"quorum":2}'::jsonb
               ELSE jsonb_build_object('reason', 'superseded') END,
             CASE r.status
               WHEN 'approved' THEN '{"approvals":["alice@example.com","bob@example.com"],"denials":[],"quorum":2}'
               WHEN 'denied' THEN '{"approvals":[],"denials":["carol@example.com"],"quorum":2}'
               ELSE '{"reason":"superseded"}' END)
          ) AS e(n, type, actor, payload, canonical_payload)
         WHERE e.n = r.n
      ) AS s`;
  return [
    `CREATE TEMP TABLE growth_events ON COMMIT DROP AS
       SELECT (SELECT seq FROM audit_chain_head WHERE id = 1) + row_number() OVER (ORDER BY i, n) AS seq,
              type, request_id, actor, payload, occurred_at,
              '{"actor":' || ${J('actor')} || ',"occurredAt":"' || ${ISO('occurred_at')} || '","payload":' || canonical_payload
                || ',"requestId":"' || request_id || '","type":' || ${J('type')} || '}' AS canonical
         FROM (${events}) AS all_events`,
    `CREATE OR REPLACE FUNCTION pg_temp.growth_chain(prev text) RETURNS TABLE (seq bigint, prev_hash text, hash text)
       LANGUAGE plpgsql AS $$
     DECLARE e record; next_hash text;
     BEGIN
       FOR e IN SELECT g.seq, g.canonical FROM growth_events g ORDER BY g.seq LOOP
         next_hash := encode(sha256(convert_to(prev || e.canonical, 'UTF8')), 'hex');
         seq := e.seq; prev_hash := prev; hash := next_hash;
         RETURN NEXT;
         prev := next_hash;
       END LOOP;
     END $$`,
    `INSERT INTO approval_requests (id, client_id, status, action, title, requester_email, context, payload_digest,
        approvers, quorum, policy_rule, channel, channels, request_hash, created_at, expires_at, decided_at)
     SELECT ${id}, '${clientId}', ${STATUS_SQL}::"ApprovalStatus", ${action}, ${title('i', action)}, ${requester},
            jsonb_build_object('ticket', 'OPS-' || i, 'service', 'api', 'region', 'eu-west-1'),
            ${DIGEST}, '{alice@example.com,bob@example.com,carol@example.com}', 2, '${POLICY_RULE}', '${GROWTH_CHANNEL}',
            '{${GROWTH_CHANNEL}}', md5('growth-hash-' || i) || md5('growth-hash2-' || i), ${at},
            ${expires}, ${at} + interval '${REQUEST_SPAN_S} seconds'
       FROM ${series}`,
    `INSERT INTO decisions (id, request_id, approver_email, platform, verdict, reason, created_at)
     SELECT md5('growth-decision-' || i || '-' || n)::uuid, ${id},
            CASE WHEN ${STATUS_SQL} = 'denied' THEN 'carol@example.com' WHEN n = 1 THEN 'alice@example.com' ELSE 'bob@example.com' END,
            'slack', (CASE WHEN ${STATUS_SQL} = 'denied' THEN 'deny' ELSE 'approve' END)::"Verdict", NULL,
            ${at} + make_interval(secs => n * 60)
       FROM ${series}, generate_series(1, 2) AS n
      WHERE n = 1 OR ${STATUS_SQL} = 'approved'`,
    `INSERT INTO chat_cards (request_id, channel, message_id, version, shown_version, posted_at, created_at)
     SELECT ${id}, '${GROWTH_CHANNEL}', (extract(epoch FROM ${at})::bigint) || '.' || lpad((i % 1000000)::text, 6, '0'),
            3, 3, ${at} + interval '1 second', ${at}
       FROM ${series}`,
    `INSERT INTO callback_deliveries (id, request_id, url, status, verdict, attempt_count, created_at, completed_at)
     SELECT md5('growth-delivery-' || i)::uuid, ${id}, 'https://ci.example.com/hooks/countersign', 'succeeded',
            ${STATUS_SQL}::"ApprovalStatus", 1, ${at} + interval '180 seconds', ${at} + interval '181 seconds'
       FROM ${series}`,
    `INSERT INTO audit_events (seq, type, request_id, actor, payload, occurred_at, prev_hash, hash)
     SELECT g.seq, g.type, g.request_id, g.actor, g.payload, g.occurred_at, c.prev_hash, c.hash
       FROM pg_temp.growth_chain((SELECT hash FROM audit_chain_head WHERE id = 1)) AS c
       JOIN growth_events g ON g.seq = c.seq`,
    `UPDATE audit_chain_head SET (seq, hash) = (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) WHERE id = 1`,
    `UPDATE audit_signing_start SET seq = (SELECT seq + 1 FROM audit_chain_head WHERE id = 1) WHERE id = 1`,
  ];
}

async function seed(name: string, events: number): Promise<{ clientId: string; seconds: number }> {
  const started = performance.now();
  await withAdmin(async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  });
  const { clientId } = await seedGrowthHistory(urlOf(name), events);
  return { clientId, seconds: (performance.now() - started) / 1000 };
}

/** Runs `statements` and then `finish` in one transaction on `url`. */
async function inOneTransaction(
  url: string,
  statements: string[],
  finish?: (client: pg.Client) => Promise<void>,
): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const sql of statements) await client.query(sql);
    await finish?.(client);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

/**
 * Seeds a history of `events` events into the empty (or migrated) database at `url`: the requests
 * before the checkpoint's tick, the signed checkpoint, the rest, and the growth_seed table that
 * marks the seed finished. Answers the history's client and the checkpoint's seq (null: none).
 */
export async function seedGrowthHistory(
  url: string,
  events: number,
): Promise<{ clientId: string; checkpointSeq: string | null }> {
  const log = createLogger('silent');
  await migrate(url, log);
  const db = createDatabase(url, { maxConnections: 1 });
  let clientId: string;
  let checkpointSeq: string | null = null;
  const requests = growthRequests(events);
  const checkpoint = growthCheckpoint(events);
  try {
    ({ clientId } = await createApiKey(db, { name: 'bench-growth' }));
    // Stored in receipt_keys as a first start stores it: the server started on the clone loads it.
    const receiptKey = await loadReceiptKey({ setting: undefined, databaseUrl: url, log });
    const before = checkpoint?.requestsBefore ?? 0;
    if (checkpoint) {
      await inOneTransaction(url, seedStatements(0, before, clientId));
      const signed = await createCheckpoint(
        { db, clock: { now: () => checkpoint.at }, receipts: createReceiptSigner(receiptKey) },
        { actor: 'system:checkpoint', skipIfUnchanged: true },
      );
      if (!signed) throw new Error('the growth seed has no events to checkpoint');
      checkpointSeq = String(BigInt(signed.seq) + 1n);
    }
    await inOneTransaction(url, seedStatements(before, requests, clientId), async (client) => {
      await client.query(`CREATE TABLE growth_seed (key text PRIMARY KEY, value text NOT NULL)`);
      await client.query(
        `INSERT INTO growth_seed VALUES ('client_id', $1), ('events', $2), ('version', $3)`,
        [clientId, String(events), SEED_VERSION],
      );
    });
  } finally {
    await db.close();
  }
  // Planner statistics and visibility maps, as autovacuum would leave them after a bulk load.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
  return { clientId, checkpointSeq };
}

/** The kept seed of `events` events, seeded first when it is missing, unfinished or of an older shape. */
export async function ensureGrowthSeed(events: number): Promise<{ clientId: string; seededSeconds: number }> {
  const name = growthDatabaseName(events);
  const found = await readSeed(name);
  if (found && found.events === events) return { clientId: found.clientId, seededSeconds: 0 };
  const seeded = await seed(name, events);
  console.log(
    `   seeded ${name}: ${events.toLocaleString('en-US')} events in ${seeded.seconds.toFixed(0)} s`,
  );
  return { clientId: seeded.clientId, seededSeconds: seeded.seconds };
}

/**
 * A clone of the kept seed of `events` events (seeding it first when needed), with a fresh API key
 * (approvals and audit:read) for the history's client.
 */
export async function growthHistory(events: number): Promise<GrowthHistory> {
  const name = growthDatabaseName(events);
  const { clientId, seededSeconds } = await ensureGrowthSeed(events);
  const found = { clientId };
  const clone = `${name}_run_${process.pid}`;
  await withAdmin(async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS "${clone}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${clone}" TEMPLATE "${name}"`);
  });
  const url = urlOf(clone);
  const key = generateApiKey();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `UPDATE api_keys SET hash = $1, prefix = $2, scopes = '{approvals:write,approvals:read,audit:read}' WHERE client_id = $3`,
      [hashApiKey(key), displayPrefix(key), found.clientId],
    );
  } finally {
    await client.end();
  }
  const requests = growthRequests(events);
  return {
    url,
    events,
    requests,
    seededSeconds,
    key,
    clientId: found.clientId,
    end: growthEnd(events),
    drop: () =>
      withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${clone}" WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}
