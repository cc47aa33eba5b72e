// Audit append throughput: transactions that each append one hash-chained event the way the
// service's hot paths do (a node-postgres transaction, db/transaction.ts, whose last round
// trip is the append and COMMIT together; serialised by the chain lock), 8 at a time, against pgbench calling the chain function countersign_append_audit_events
// from 8 clients. Also prints, as diagnostics, pgbench running the service's statement pattern
// (BEGIN; the call; COMMIT as three round trips), the same appends sent from Node in one round
// trip, and the events/s the chain verifies at.
import { appendAuditEventsAndCommit, eventDigestInput } from '../apps/server/src/audit/append-event.ts';
import { registerEventKey } from '../apps/server/src/audit/chain-store.ts';
import { createEventSigner, type EventSigner } from '../apps/server/src/audit/event-key.ts';
import { verifyChain } from '../apps/server/src/audit/verify-chain.ts';
import { createDatabase, type Database } from '../apps/server/src/db/client.ts';
import { generateReceiptKey } from '../apps/server/src/receipts/receipt-key.ts';
import { inTransaction } from '../apps/server/src/db/transaction.ts';
import { createBenchDatabase } from './bench-database.ts';
import { median, ratioAtLeast, repeat, type BenchOptions, type BenchRow } from './lib/bench-row.ts';
import { hasPgbench, PGBENCH_MISSING, runPgbench } from './lib/pgbench.ts';

const CONCURRENCY = 8;
const GOAL = 0.6;

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

function chained(db: Database, signer: EventSigner, seconds: number): Promise<number> {
  return runFor(seconds, CONCURRENCY, async () => {
    await inTransaction(db, (tx) =>
      appendAuditEventsAndCommit(
        tx,
        [
          {
            type: 'decision.recorded',
            requestId: '00000000-0000-4000-8000-000000000000',
            actor: 'bob@example.com',
            payload: { ...payload, verdict: 'approve', reason: null },
          },
        ],
        new Date(),
        signer,
      ),
    );
  });
}

/**
 * Diagnostic: the same event as the service would build it, appended in one round trip on the pg
 * pool (BEGIN; the call; COMMIT as one simple query), so the chain lock is held for no client
 * turnaround. What a service path without the interactive transaction could reach.
 */
function oneRoundTrip(db: Database, signer: EventSigner, seconds: number): Promise<number> {
  return runFor(seconds, CONCURRENCY, async () => {
    const event = {
      type: 'decision.recorded',
      requestId: '00000000-0000-4000-8000-000000000000',
      actor: 'bob@example.com',
      payload: { ...payload, verdict: 'approve', reason: null },
      occurredAt: new Date(Math.floor(Date.now())),
    };
    const canonical = eventDigestInput(event);
    const batch = [
      { ...event, occurredAt: event.occurredAt.toISOString(), canonical, signature: signer.sign(canonical) },
    ];
    const client = await db.pool.connect();
    try {
      await client.query(
        `BEGIN; SELECT countersign_append_audit_events(${client.escapeLiteral(JSON.stringify(batch))}::jsonb); COMMIT;`,
      );
    } finally {
      client.release();
    }
  });
}

/** The chain function called directly, one event per transaction: the database-side ceiling. */
const chainedCall = (signer: EventSigner): string =>
  `SELECT countersign_append_audit_events('${JSON.stringify([
    {
      type: 'decision.recorded',
      requestId: '00000000-0000-4000-8000-000000000000',
      actor: 'bob@example.com',
      payload: { ...payload, verdict: 'approve', reason: null },
      occurredAt: new Date(0).toISOString(),
      canonical: JSON.stringify(payload),
      signature: signer.sign(JSON.stringify(payload)),
    },
  ])}'::jsonb);`;

export async function benchAuditAppend({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 3 : 10;
  const bench = await createBenchDatabase();
  const db = createDatabase(bench.url, { maxConnections: CONCURRENCY });
  // A decision is a signed event, as on the service's path: sign with a key the database knows.
  const eventKey = generateReceiptKey();
  await registerEventKey(db.pool, eventKey);
  const signer = createEventSigner(eventKey);
  try {
    await chained(db, signer, quick ? 1 : 3); // warm-up: connections
    const service = await repeat(rounds, async (round) => {
      const rate = await chained(db, signer, seconds);
      console.log(`   append round ${round + 1}: service ${rate.toFixed(0)} events/s`);
      return rate;
    });
    const single = await repeat(rounds, () => oneRoundTrip(db, signer, seconds));
    console.log(
      `   diagnostic: the same appends in one round trip on the pg pool ${median(single).toFixed(0)} events/s`,
    );
    // Before pgbench appends events whose canonical text is synthetic. The decisions recorded here
    // have no request rows, so the request check after the chain names one: the links must hold.
    const verifyStart = performance.now();
    const verified = await verifyChain(db);
    if (!verified.intact && verified.problem !== 'request_mismatch')
      throw new Error(`the appended chain does not verify: ${verified.detail}`);
    const verifySeconds = (performance.now() - verifyStart) / 1000;
    console.log(
      `   verified ${verified.events} appended events in ${verifySeconds.toFixed(1)} s (${(verified.events / verifySeconds).toFixed(0)} events/s)`,
    );

    const figure = median(service);
    if (!hasPgbench()) {
      return [
        {
          name: 'append',
          figure,
          unit: 'events/s',
          baseline: null,
          ratio: null,
          goal: `≥ ${GOAL.toFixed(2)}× pgbench`,
          pass: null,
          note: PGBENCH_MISSING,
        },
      ];
    }
    const call = (script: string) =>
      repeat(rounds, () =>
        Promise.resolve(runPgbench({ url: bench.url, script, clients: CONCURRENCY, seconds })),
      );
    const direct = await call(chainedCall(signer));
    const threeTrips = await call(`BEGIN;\n${chainedCall(signer)}\nCOMMIT;`);
    const baseline = median(direct.map((r) => r.tps));
    console.log(
      `   pgbench chain function ${baseline.toFixed(0)} tps (p99 ${median(direct.map((r) => r.p99Ms)).toFixed(1)} ms); ` +
        `as BEGIN + call + COMMIT (the service's round trips) ${median(threeTrips.map((r) => r.tps)).toFixed(0)} tps`,
    );
    return [
      ratioAtLeast(
        {
          name: 'append',
          figure,
          unit: 'events/s',
          baseline,
          note: `${CONCURRENCY} concurrent; baseline: pgbench calling countersign_append_audit_events, one event per transaction, ${CONCURRENCY} clients`,
        },
        GOAL,
        'pgbench',
      ),
    ];
  } finally {
    await db.close();
    await bench.drop();
  }
}
