// Audit append throughput: transactions that each append one hash-chained event (the service's
// appendAuditEvent, serialised by its advisory lock) against the same transactions inserting an
// unchained row, and against pgbench doing that plain insert from C clients.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendAuditEvent } from '../apps/server/src/audit/append-event.ts';
import { verifyChain } from '../apps/server/src/audit/verify-chain.ts';
import { createDatabase, type Database } from '../apps/server/src/db/client.ts';
import { createBenchDatabase } from './bench-database.ts';

const CONCURRENCY = 8;
const SECONDS = 5;

async function runFor(seconds: number, concurrency: number, work: () => Promise<void>): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await work();
        done += 1;
      }
    }),
  );
  return done / seconds;
}

const payload = {
  approver: { email: 'bob@example.com', platform: 'slack', platformUserId: 'U0BOB', displayName: null },
};

async function chained(db: Database): Promise<number> {
  return runFor(SECONDS, CONCURRENCY, async () => {
    await db.prisma.$transaction((tx) =>
      appendAuditEvent(
        tx,
        {
          type: 'decision.recorded',
          requestId: '00000000-0000-4000-8000-000000000000',
          actor: 'bob@example.com',
          payload: { ...payload, verdict: 'approve', reason: null },
        },
        new Date(),
      ),
    );
  });
}

async function unchained(db: Database): Promise<number> {
  await db.pool.query(`CREATE TABLE bench_plain (LIKE audit_events INCLUDING DEFAULTS)`);
  return runFor(SECONDS, CONCURRENCY, async () => {
    await db.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`INSERT INTO bench_plain (seq, type, request_id, actor, payload, prev_hash, hash)
        VALUES (nextval(pg_get_serial_sequence('audit_events', 'seq')), 'decision.recorded',
                '00000000-0000-4000-8000-000000000000', 'bob@example.com', ${JSON.stringify(payload)}::jsonb, '', md5(random()::text))`;
    });
  });
}

const PLAIN_INSERT = `INSERT INTO bench_plain (seq, type, request_id, actor, payload, prev_hash, hash) VALUES (nextval(pg_get_serial_sequence('audit_events', 'seq')), 'decision.recorded', '00000000-0000-4000-8000-000000000000', 'bob@example.com', '${JSON.stringify(payload)}'::jsonb, '', md5(random()::text));`;

/** The chain function called directly, one event per transaction: the database-side ceiling. */
const CHAINED_CALL = `SELECT countersign_append_audit_events('${JSON.stringify([
  {
    type: 'decision.recorded',
    requestId: null,
    actor: 'bob@example.com',
    payload,
    occurredAt: new Date(0).toISOString(),
    canonical: JSON.stringify(payload),
  },
])}'::jsonb);`;

function pgbench(url: string, sql: string): number | undefined {
  const script = join(tmpdir(), `countersign-bench-${process.pid}.sql`);
  writeFileSync(script, `${sql}\n`);
  const result = spawnSync(
    'pgbench',
    ['-n', '-f', script, '-c', String(CONCURRENCY), '-T', String(SECONDS), url],
    {
      encoding: 'utf8',
    },
  );
  const match = /tps = ([\d.]+)/.exec(result.stdout ?? '');
  return match?.[1] ? Number(match[1]) : undefined;
}

export async function benchAuditAppend(): Promise<void> {
  const bench = await createBenchDatabase();
  const db = createDatabase(bench.url, { maxConnections: CONCURRENCY });
  try {
    const chainedRate = await chained(db);
    const plainRate = await unchained(db);
    // Verify before the pgbench baseline appends events whose canonical text is synthetic.
    const verifyStart = Date.now();
    const verified = await verifyChain(db.pool);
    const verifyRate = (verified.intact ? verified.events : 0) / ((Date.now() - verifyStart) / 1000);
    const pgbenchRate = pgbench(bench.url, PLAIN_INSERT);
    const pgbenchChained = pgbench(bench.url, CHAINED_CALL);
    console.log(`audit append (${CONCURRENCY} concurrent transactions, ${SECONDS}s each)`);
    console.log(`  hash-chained appends      ${chainedRate.toFixed(0)} events/s`);
    console.log(
      `  unchained insert, same tx ${plainRate.toFixed(0)} rows/s   chained/unchained = ${(chainedRate / plainRate).toFixed(2)}`,
    );
    if (pgbenchRate) {
      console.log(
        `  pgbench plain insert      ${pgbenchRate.toFixed(0)} tps      chained/pgbench = ${(chainedRate / pgbenchRate).toFixed(2)}`,
      );
    } else {
      console.log('  pgbench not available: baseline skipped');
    }
    if (pgbenchChained) {
      console.log(
        `  pgbench chain function    ${pgbenchChained.toFixed(0)} tps      service/database ceiling = ${(chainedRate / pgbenchChained).toFixed(2)}`,
      );
    }
    console.log(
      `  verify chain              ${verifyRate.toFixed(0)} events/s (${verified.intact ? 'intact' : 'TAMPERED'})`,
    );
  } finally {
    await db.close();
    await bench.drop();
  }
}
