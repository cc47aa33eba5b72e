// Seeds a realistic approval history fast: requests with their decisions, chat cards, callback
// deliveries and ~3.85 audit events each, written in batches of one statement (writable CTEs over
// unnest arrays). The audit events are hash-chained in JS with the service's own chainHash (the
// same sha256(prev_hash ‖ canonical JSON) the SQL function countersign_append_audit_events links
// with), continuing from the chain head, and each statement moves the head with its events, so
// verifyChain reports the seeded chain intact. The seeder must be the only writer while it runs.
import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { chainHash, type ChainedEventFields } from '../apps/server/src/audit/append-event.ts';

export const SEED_START = new Date('2025-01-01T00:00:00.000Z');
const REQUEST_SPACING_MS = 10_000;
const BATCH_REQUESTS = 5_000;
const CLIENT_ID = '0b5e1c1e-0000-4000-8000-000000000001';
const CALLBACK_URL = 'https://ci.example.com/hooks/countersign';
const APPROVERS = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
const ACTIONS = [
  'deploy.production',
  'db.migrate',
  'iam.grant',
  'secrets.read',
  'k8s.scale',
  'billing.refund',
];
/** Outcome mix per 20 requests: ~3.85 audit events per request on average. */
const KINDS = [
  ...Array<'approved'>(10).fill('approved'),
  ...Array<'denied'>(4).fill('denied'),
  ...Array<'expired'>(3).fill('expired'),
  'cancelled',
  'pending',
  'auto',
] as const;

type Row = Record<string, unknown>;
interface Batch {
  requests: Row[];
  decisions: Row[];
  cards: Row[];
  deliveries: Row[];
  events: Row[];
}
export interface ChainHead {
  seq: number;
  hash: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const slackUser = (email: string) => ({
  email,
  platform: 'slack',
  platformUserId: `U0${email.slice(0, email.indexOf('@')).toUpperCase()}`,
  displayName: email.slice(0, email.indexOf('@')),
});

/** One request and everything the service would have written for it. */
function addRequest(batch: Batch, index: number, chainEvent: (fields: ChainedEventFields) => void): void {
  const kind = KINDS[index % KINDS.length] ?? 'approved';
  const id = randomUUID();
  const t = SEED_START.getTime() + index * REQUEST_SPACING_MS;
  const action = ACTIONS[index % ACTIONS.length] ?? 'deploy.production';
  const requester = `dev${index % 97}@example.com`;
  const rule = kind === 'auto' ? 'staging-auto' : `${action.split('.')[0]}-changes`;
  const digest = createHash('sha256').update(`${action}:${index}`).digest('hex');
  const expiresAt = t + 3_600_000;
  const event = (type: string, actor: string, payload: unknown, at: number) =>
    chainEvent({ type, requestId: id, actor, payload, occurredAt: new Date(at) });
  const decision = (email: string, verdict: 'approve' | 'deny', reason: string | null, at: number) => {
    const approver = email.startsWith('policy:')
      ? { email, platform: 'policy', platformUserId: null, displayName: null }
      : slackUser(email);
    batch.decisions.push({
      id: randomUUID(),
      request_id: id,
      approver_email: email,
      platform: approver.platform,
      platform_user_id: approver.platformUserId,
      display_name: approver.displayName,
      verdict,
      reason,
      created_at: iso(at),
    });
    event('decision.recorded', email, { approver, verdict, reason }, at);
  };
  const refused = (email: string | null, reason: string, status: string, at: number) => {
    const approver = email ? slackUser(email) : { ...slackUser('ghost@example.com'), email: null };
    const actor = email ?? `slack:${approver.platformUserId}`;
    event('decision.refused', actor, { reason, approver, verdict: 'approve', status }, at);
  };
  const verdict = (type: string, approvals: string[], denials: string[], quorum: number, at: number) =>
    event(type, 'countersign', { approvals, denials, quorum, denyQuorum: 1 }, at);

  event(
    'request.created',
    `client:${CLIENT_ID}`,
    {
      clientId: CLIENT_ID,
      action,
      requester,
      payloadDigest: digest,
      expiresAt: iso(expiresAt),
      policyRule: rule,
      approvers: kind === 'auto' ? [] : APPROVERS,
      anyApprover: false,
      quorum: kind === 'auto' ? 1 : 2,
    },
    t,
  );
  let status: string = kind;
  let decidedAt: number | null = null;
  switch (kind) {
    case 'approved':
      decision('alice@example.com', 'approve', null, t + 60_000);
      decision('bob@example.com', 'approve', null, t + 120_000 + (index % 600) * 1000);
      decidedAt = t + 120_000 + (index % 600) * 1000;
      verdict('request.approved', ['alice@example.com', 'bob@example.com'], [], 2, decidedAt);
      break;
    case 'denied':
      refused(requester, 'self_approval', 'pending', t + 30_000);
      decision('carol@example.com', 'deny', 'not during the change freeze', t + 90_000);
      decidedAt = t + 90_000;
      verdict('request.denied', [], ['carol@example.com'], 2, decidedAt);
      break;
    case 'expired':
      decision('alice@example.com', 'approve', null, t + 60_000);
      refused('mallory@example.com', 'not_eligible', 'pending', t + 300_000);
      decidedAt = expiresAt;
      event('request.expired', 'countersign', { expiresAt: iso(expiresAt) }, expiresAt);
      break;
    case 'cancelled':
      refused(null, 'identity_unresolved', 'pending', t + 45_000);
      decidedAt = t + 600_000;
      event(
        'request.cancelled',
        `client:${CLIENT_ID}`,
        { clientId: CLIENT_ID, reason: 'superseded' },
        decidedAt,
      );
      break;
    case 'pending':
      decision('alice@example.com', 'approve', null, t + 60_000);
      break;
    case 'auto':
      decision(`policy:${rule}`, 'approve', null, t);
      status = 'approved';
      decidedAt = t;
      event(
        'request.approved',
        `policy:${rule}`,
        { approvals: [`policy:${rule}`], denials: [], quorum: 1, denyQuorum: 1 },
        t,
      );
      refused('bob@example.com', 'already_decided', 'approved', t + 20_000);
      break;
  }

  batch.requests.push({
    id,
    client_id: CLIENT_ID,
    status,
    action,
    title: `${action} #${index}`,
    requester_email: requester,
    agent: index % 2 === 0 ? JSON.stringify({ name: 'release-bot', version: '2.4.1' }) : null,
    context: JSON.stringify({
      ticket: `OPS-${index}`,
      service: 'api',
      version: `1.${index}.0`,
      region: 'eu-west-1',
    }),
    payload_digest: digest,
    approvers: kind === 'auto' ? '{}' : `{${APPROVERS.join(',')}}`,
    quorum: kind === 'auto' ? 1 : 2,
    policy_rule: rule,
    channel: kind === 'auto' ? null : '#approvals',
    callback_url: CALLBACK_URL,
    request_hash: createHash('sha256').update(id).digest('hex'),
    created_at: iso(t),
    expires_at: iso(expiresAt),
    decided_at: decidedAt === null ? null : iso(decidedAt),
  });
  if (kind !== 'auto') {
    batch.cards.push({
      request_id: id,
      channel: '#approvals',
      message_id: `${Math.floor(t / 1000)}.${String(index % 1_000_000).padStart(6, '0')}`,
      version: 3,
      shown_version: 3,
      posted_at: iso(t + 1000),
      created_at: iso(t),
    });
  }
  if (decidedAt !== null) {
    const failed = index % 50 === 7;
    batch.deliveries.push({
      id: randomUUID(),
      request_id: id,
      url: CALLBACK_URL,
      status: failed ? 'failed' : 'succeeded',
      verdict: status,
      attempt_count: failed ? 15 : 1,
      last_error: failed ? 'HTTP 503' : null,
      created_at: iso(decidedAt),
      completed_at: iso(decidedAt + (failed ? 90_000_000 : 400)),
    });
  }
}

/** Column types; a type ending in [] is passed as array-literal text and cast back. */
const TABLES = {
  approval_requests: {
    id: 'uuid',
    client_id: 'uuid',
    status: '"ApprovalStatus"',
    action: 'text',
    title: 'text',
    requester_email: 'text',
    agent: 'jsonb',
    context: 'jsonb',
    payload_digest: 'text',
    approvers: 'text[]',
    quorum: 'int',
    policy_rule: 'text',
    channel: 'text',
    callback_url: 'text',
    request_hash: 'text',
    created_at: 'timestamptz',
    expires_at: 'timestamptz',
    decided_at: 'timestamptz',
  },
  decisions: {
    id: 'uuid',
    request_id: 'uuid',
    approver_email: 'text',
    platform: 'text',
    platform_user_id: 'text',
    display_name: 'text',
    verdict: '"Verdict"',
    reason: 'text',
    created_at: 'timestamptz',
  },
  chat_cards: {
    request_id: 'uuid',
    channel: 'text',
    message_id: 'text',
    version: 'int',
    shown_version: 'int',
    posted_at: 'timestamptz',
    created_at: 'timestamptz',
  },
  callback_deliveries: {
    id: 'uuid',
    request_id: 'uuid',
    url: 'text',
    status: '"DeliveryStatus"',
    verdict: '"ApprovalStatus"',
    attempt_count: 'int',
    last_error: 'text',
    created_at: 'timestamptz',
    completed_at: 'timestamptz',
  },
  audit_events: {
    seq: 'bigint',
    type: 'text',
    request_id: 'uuid',
    actor: 'text',
    payload: 'jsonb',
    occurred_at: 'timestamptz',
    prev_hash: 'text',
    hash: 'text',
  },
} as const;

function insertFromArrays(table: keyof typeof TABLES, rows: Row[], params: unknown[]): string {
  const columns = Object.entries(TABLES[table]);
  const args = columns.map(([name, type]) => {
    params.push(rows.map((row) => row[name] ?? null));
    return type.endsWith('[]') ? `$${params.length}::text[]` : `$${params.length}::${type}[]`;
  });
  const select = columns.map(([name, type]) => (type.endsWith('[]') ? `${name}::${type}` : name));
  return `INSERT INTO ${table} (${columns.map(([name]) => name).join(', ')})
    SELECT ${select.join(', ')} FROM unnest(${args.join(', ')}) AS u(${columns.map(([name]) => name).join(', ')})`;
}

/** One statement: every row of the batch, and the chain head moved to its last event. */
function batchStatement(batch: Batch, head: ChainHead): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const inserts = [
    insertFromArrays('approval_requests', batch.requests, params),
    insertFromArrays('decisions', batch.decisions, params),
    insertFromArrays('chat_cards', batch.cards, params),
    insertFromArrays('callback_deliveries', batch.deliveries, params),
    insertFromArrays('audit_events', batch.events, params),
  ];
  params.push(head.seq, head.hash);
  const sql = `WITH ${inserts.map((insert, i) => `w${i} AS (${insert})`).join(',\n')}
    UPDATE audit_chain_head SET seq = $${params.length - 1}, hash = $${params.length} WHERE id = 1`;
  return { sql, params };
}

export interface SeedResult {
  requests: number;
  events: number;
  nextRequest: number;
  head: ChainHead;
  seconds: number;
}

/**
 * Adds requests from `firstRequest` on until the chain holds at least `targetEvents` events.
 * The next batch is built while the database writes the previous one.
 */
export async function seedApprovalHistory(
  pool: pg.Pool,
  options: { firstRequest: number; targetEvents: number },
): Promise<SeedResult> {
  const started = performance.now();
  const client = await pool.connect();
  try {
    await client.query(
      `INSERT INTO clients (id, name, callback_secret) VALUES ($1, 'bench', 'secret') ON CONFLICT DO NOTHING`,
      [CLIENT_ID],
    );
    const { rows } = await client.query<{ seq: string; hash: string }>(
      `SELECT seq::text AS seq, hash FROM audit_chain_head WHERE id = 1`,
    );
    const head: ChainHead = { seq: Number(rows[0]?.seq ?? 0), hash: rows[0]?.hash ?? '' };
    const firstSeq = head.seq;
    let index = options.firstRequest;
    let writing: Promise<unknown> = Promise.resolve();
    while (head.seq < options.targetEvents) {
      const batch: Batch = { requests: [], decisions: [], cards: [], deliveries: [], events: [] };
      const chainEvent = (fields: ChainedEventFields) => {
        const hash = chainHash(head.hash, fields);
        head.seq += 1;
        batch.events.push({
          seq: head.seq,
          type: fields.type,
          request_id: fields.requestId,
          actor: fields.actor,
          payload: JSON.stringify(fields.payload),
          occurred_at: fields.occurredAt.toISOString(),
          prev_hash: head.hash,
          hash,
        });
        head.hash = hash;
      };
      for (let n = 0; n < BATCH_REQUESTS && head.seq < options.targetEvents; n++) {
        addRequest(batch, index++, chainEvent);
        // Let the socket take the previous batch's bytes and its answer while this one is built.
        if (n % 500 === 499) await new Promise(setImmediate);
      }
      await writing;
      const { sql, params } = batchStatement(batch, { ...head });
      writing = client.query(sql, params);
      // Awaited at the next batch; until then a failure must not count as unhandled.
      writing.catch(() => undefined);
    }
    await writing;
    // Planner statistics, as autovacuum would gather after a bulk load (this server runs without it).
    await client.query('ANALYZE');
    return {
      requests: index - options.firstRequest,
      events: head.seq - firstSeq,
      nextRequest: index,
      head: { ...head },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    client.release();
  }
}
