// The hot lookups keep their cost flat as history grows: on 100k requests, 100k cards and 100k
// audit events, the plan of each statement the code really sends (captured from the pool, then EXPLAIN ANALYZEd with the
// same parameters) reads no more than ten times the rows it returns. Speed itself is measured in
// `npm run bench`; this checks the plan shape that makes it flat.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRequests, encodeCursor } from '../../apps/server/src/approvals/list-requests.ts';
import { checkpointAtOrBefore, periodSeqRange } from '../../apps/server/src/audit/report/report-store.ts';
import {
  decisionsAfterDeprovisioningCount,
  latestCheckpointBefore,
  periodEdgeEvent,
} from '../../apps/server/src/audit/report/report-summary-store.ts';
import {
  lastPostedAt,
  nextPendingCard,
  nextPendingCardWithView,
} from '../../apps/server/src/chat/card-store.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { createMigratedTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testDeps } from '../support/use-case-fixtures.ts';

const REQUESTS = 100_000;
const CHANNEL = 'slack:C0HISTORY';
const PENDING_CARDS = 5;
const EVENTS = 100_000;
/** The audit chain's one signed checkpoint, half-way; a report period over its last thousand events. */
const CHECKPOINT_SEQ = 50_000;
const PERIOD_EVENTS = 1_000;
const EVENTS_START = new Date('2030-01-01T00:00:00.000Z');
const eventAt = (seq: number) => new Date(EVENTS_START.getTime() + seq * 1000);

interface SentStatement {
  text: string;
  values: unknown[];
}

interface PlanNode {
  'Node Type': string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

const SCANS = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan']);

/** Rows the plan's scans read from tables or indexes: those they passed on plus those they discarded. */
function rowsRead(node: PlanNode): number {
  const own = SCANS.has(node['Node Type'])
    ? (node['Actual Rows'] +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0)) *
      node['Actual Loops']
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child), 0);
}

describe('access paths at 100k rows', { timeout: 300_000 }, () => {
  let database: TestDatabase;
  let db: Database;
  let admin: pg.Client;
  let clientId: string;
  const sent: SentStatement[] = [];

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    db = createDatabase(database.url, { maxConnections: 2 });
    // Every statement Prisma sends goes through a pooled client's query(); record its text and values.
    db.pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const [first, second] = args;
        if (typeof first === 'object' && first !== null && 'text' in first) {
          const config = first as { text: string; values?: unknown[] };
          sent.push({ text: config.text, values: config.values ?? [] });
        } else if (typeof first === 'string') {
          sent.push({ text: first, values: Array.isArray(second) ? second : [] });
        }
        return query(...args);
      };
    });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const { rows } = await admin.query<{ id: string }>(
      `INSERT INTO clients (id, name, callback_secret) VALUES (gen_random_uuid(), 'history', 'x'),
              (gen_random_uuid(), 'other', 'x') RETURNING id`,
    );
    clientId = rows[0]?.id ?? '';
    // 20 actions, 50 requesters, statuses in fixed proportions; one request per second back in time.
    await admin.query(
      `INSERT INTO approval_requests (id, client_id, status, action, requester_email, context,
                                      payload_digest, approvers, quorum, channels, request_hash,
                                      created_at, expires_at)
       SELECT gen_random_uuid(), CASE WHEN g % 10 = 0 THEN $2::uuid ELSE $1::uuid END,
              (CASE WHEN g % 100 = 1 THEN 'pending' WHEN g % 10 < 7 THEN 'approved'
                    WHEN g % 10 < 9 THEN 'denied' ELSE 'expired' END)::"ApprovalStatus",
              'act.' || (g % 20), 'user' || (g % 50) || '@example.com', '{}'::jsonb,
              'sha256:' || md5(g::text), '{}', 1, '{}', md5(g::text),
              now() - g * interval '1 second', now() - g * interval '1 second' + interval '1 hour'
         FROM generate_series(1, ${REQUESTS}) AS g`,
      [clientId, rows[1]?.id],
    );
    // Every request has a card in one channel; all but the newest few are shown and posted.
    await admin.query(
      `INSERT INTO chat_cards (request_id, channel, version, shown_version, posted_at, message_id)
       SELECT id, $1, 2, CASE WHEN rn <= ${PENDING_CARDS} THEN 1 ELSE 2 END,
              CASE WHEN rn <= ${PENDING_CARDS} THEN NULL ELSE created_at END,
              CASE WHEN rn <= ${PENDING_CARDS} THEN NULL ELSE 'ts-' || rn END
         FROM (SELECT id, created_at, row_number() OVER (ORDER BY created_at DESC) AS rn
                 FROM approval_requests ORDER BY created_at) AS r`,
      [CHANNEL],
    );
    // The audit chain: one event a second, decisions by the same 50 users, one directory user
    // deactivated early on and one signed checkpoint half-way (the hashes only need to be unique).
    await admin.query(
      `INSERT INTO audit_events (seq, type, request_id, actor, payload, occurred_at, prev_hash, hash)
       SELECT g, CASE WHEN g = ${CHECKPOINT_SEQ} THEN 'audit.checkpoint'
                      WHEN g = 10 THEN 'directory.user.deactivated' ELSE 'decision.recorded' END,
              NULL, 'system',
              CASE WHEN g = 10 THEN jsonb_build_object('email', 'user7@example.com')
                   ELSE jsonb_build_object('approver', jsonb_build_object('email', 'user' || (g % 50) || '@example.com')) END,
              $1::timestamptz + g * interval '1 second', md5((g - 1)::text) || md5((g - 1)::text), md5(g::text) || md5(g::text)
         FROM generate_series(1, ${EVENTS}) AS g`,
      [EVENTS_START],
    );
    await admin.query('ANALYZE');
  });

  afterAll(async () => {
    await admin?.end();
    await db?.close();
    await database?.drop();
  });

  /** Runs `act`, then EXPLAIN ANALYZEs each statement it sent that reads `table`. */
  async function plansOf(
    table: string,
    act: () => Promise<unknown>,
  ): Promise<{ read: number; returned: number; plan: string }[]> {
    sent.length = 0;
    await act();
    const statements = sent.filter((s) => /^\s*SELECT/i.test(s.text) && s.text.includes(table));
    expect(statements.length, `no SELECT on ${table} was sent`).toBeGreaterThan(0);
    const out = [];
    for (const statement of statements) {
      const { rows } = await admin.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`,
        statement.values,
      );
      const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
      if (!plan) throw new Error('EXPLAIN returned no plan');
      out.push({ read: rowsRead(plan), returned: plan['Actual Rows'], plan: JSON.stringify(plan, null, 1) });
    }
    return out;
  }

  function expectFlat(found: { read: number; returned: number; plan: string }[]): void {
    for (const { read, returned, plan } of found) {
      expect(read, `read ${read} rows to return ${returned}:\n${plan}`).toBeLessThanOrEqual(
        10 * Math.max(returned, 1),
      );
    }
  }

  const filters: [
    string,
    { status?: 'pending' | 'approved' | 'cancelled'; action?: string; requester?: string },
  ][] = [
    ['status', { status: 'approved' }],
    ['status with no match', { status: 'cancelled' }],
    ['action', { action: 'act.7' }],
    ['action with no match', { action: 'act.none' }],
    ['requester', { requester: 'user7@example.com' }],
    ['status and action', { status: 'approved', action: 'act.3' }],
    ['status and action with no match', { status: 'pending', action: 'act.4' }],
    ['status and requester', { status: 'pending', requester: 'user11@example.com' }],
    ['action and requester', { action: 'act.3', requester: 'user3@example.com' }],
    ['action and requester with no match', { action: 'act.3', requester: 'user4@example.com' }],
    ['status, action and requester', { status: 'approved', action: 'act.3', requester: 'user3@example.com' }],
  ];

  it.each(filters)('GET /v1/approvals by %s reads only what it returns', async (_name, filter) => {
    const deps = testDeps(db);
    expectFlat(
      await plansOf('approval_requests', () => listRequests(deps, clientId, { ...filter, limit: 50 })),
    );
  });

  it('a page deep in the history reads only what it returns', async () => {
    const deps = testDeps(db);
    const { rows } = await admin.query<{ id: string; created_at: Date }>(
      `SELECT id, created_at FROM approval_requests WHERE client_id = $1 AND action = 'act.3'
        ORDER BY created_at DESC, id DESC OFFSET 2000 LIMIT 1`,
      [clientId],
    );
    const row = rows[0];
    if (!row) throw new Error('no row to page from');
    const cursor = encodeCursor({ createdAt: row.created_at, id: row.id });
    const found = await plansOf('approval_requests', () =>
      listRequests(deps, clientId, { action: 'act.3', cursor, limit: 50 }),
    );
    expectFlat(found);
    const page = await listRequests(deps, clientId, { action: 'act.3', cursor, limit: 50 });
    expect(page.items).toHaveLength(50);
    expect(page.items[0]?.request.createdAt.getTime()).toBeLessThan(row.created_at.getTime());
  });

  it("a report's period bounds, edges and checkpoint read only the period's events", async () => {
    const period = { from: eventAt(EVENTS - PERIOD_EVENTS + 1), to: eventAt(EVENTS + 1) };
    const client = await db.pool.connect();
    try {
      const read = async () => ({
        range: await periodSeqRange(client, period),
        first: await periodEdgeEvent(client, period, 'ASC'),
        last: await periodEdgeEvent(client, period, 'DESC'),
        checkpoint: await checkpointAtOrBefore(client, String(EVENTS - PERIOD_EVENTS + 1)),
        latestCheckpoint: await latestCheckpointBefore(client, period.from),
        deprovisioned: await decisionsAfterDeprovisioningCount(client, period),
      });
      const found = await plansOf('audit_events', read);
      expect(found).toHaveLength(6);
      for (const { read: rows, plan } of found) {
        expect(
          rows,
          `read ${rows} rows for a period of ${PERIOD_EVENTS} events:\n${plan}`,
        ).toBeLessThanOrEqual(3 * PERIOD_EVENTS);
      }
      const got = await read();
      expect(got.range).toEqual({ first: String(EVENTS - PERIOD_EVENTS + 1), last: String(EVENTS) });
      expect(got.first?.seq).toBe(String(EVENTS - PERIOD_EVENTS + 1));
      expect(got.last?.seq).toBe(String(EVENTS));
      expect(got.checkpoint?.seq).toBe(String(CHECKPOINT_SEQ));
      expect(got.latestCheckpoint).toBeDefined();
      expect(got.deprovisioned).toBe(PERIOD_EVENTS / 50);
    } finally {
      client.release();
    }
  });

  it("the flusher's next pending card reads only the pending cards", async () => {
    const found = await plansOf('chat_cards', () => nextPendingCard(db, CHANNEL));
    expectFlat(found);
    expect(await nextPendingCard(db, CHANNEL)).toMatchObject({ message_id: null, version: 2 });
  });

  it("the flusher's next pending card with its request's view reads only what it returns", async () => {
    const found = await plansOf('chat_cards', () => nextPendingCardWithView(db, CHANNEL));
    expectFlat(found);
    const next = await nextPendingCardWithView(db, CHANNEL);
    expect(next?.card).toMatchObject({ message_id: null, version: 2 });
    expect(next?.view.request.id).toBe(next?.card.request_id);
  });

  it("the post interval's last post reads one row", async () => {
    const found = await plansOf('chat_cards', () => lastPostedAt(db, CHANNEL));
    expectFlat(found);
    expect(await lastPostedAt(db, CHANNEL)).toBeInstanceOf(Date);
  });
});
