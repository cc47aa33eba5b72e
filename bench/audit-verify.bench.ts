// Verify: the real `countersign audit verify` command (DATABASE_URL set) over a seeded history of
// 1 M audit events, timed from outside, against psql reading the same rows and columns verify
// reads (`\copy … TO '/dev/null'`) from the same database in the same run.
import { z } from 'zod';
import { median, repeat, type BenchOptions, type BenchRow } from './lib/bench-row.ts';
import { auditHistory } from './lib/audit-history.ts';
import { cleanEnv, CLI_BIN, copyOut, runTimed } from './lib/run-timed.ts';

const MIN_EVENTS_PER_SECOND = 250_000;
const MAX_TIMES_THE_READ = 4;

/** The rows and columns verifyChain reads, in its order. */
export const VERIFY_READ = `SELECT seq, type, request_id, actor, payload, occurred_at, prev_hash, hash
  FROM audit_events ORDER BY seq`;

const verdictSchema = z.object({ intact: z.boolean(), events: z.number() });

export async function benchVerify({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 1 : 3;
  const history = await auditHistory(quick);
  const env = cleanEnv({ DATABASE_URL: history.url, LOG_LEVEL: 'warn' });
  // Warm-up: the table into the page cache and shared buffers, the CLI's sources into the OS cache.
  await copyOut(history.url, VERIFY_READ);
  await runTimed(process.execPath, [CLI_BIN, '--help'], env);

  const verifyRuns = await repeat(rounds, async (round) => {
    const run = await runTimed(process.execPath, [CLI_BIN, 'audit', 'verify', '--json'], env);
    const verdict = verdictSchema.parse(JSON.parse(run.stdout));
    if (!verdict.intact || verdict.events !== history.events)
      throw new Error(`verify said ${run.stdout.slice(0, 500)}`);
    console.log(
      `   verify round ${round + 1}: ${verdict.events} events in ${run.seconds.toFixed(1)} s, ${(verdict.events / run.seconds).toFixed(0)} events/s`,
    );
    return run.seconds;
  });
  const readRuns = await repeat(rounds, async (round) => {
    const run = await copyOut(history.url, VERIFY_READ);
    console.log(`   read round ${round + 1}: ${history.events} rows in ${run.seconds.toFixed(1)} s`);
    return run.seconds;
  });

  const verifySeconds = median(verifyRuns);
  const readSeconds = median(readRuns);
  const figure = history.events / verifySeconds;
  const ratio = verifySeconds / readSeconds;
  return [
    {
      name: 'verify',
      figure,
      unit: 'events/s',
      baseline: history.events / readSeconds,
      ratio,
      goal: `≥ ${MIN_EVENTS_PER_SECOND / 1000}k events/s and ≤ ${MAX_TIMES_THE_READ}× the read time`,
      pass: figure >= MIN_EVENTS_PER_SECOND && ratio <= MAX_TIMES_THE_READ,
      note:
        `${history.events.toLocaleString('en-US')} seeded events${quick ? ' (--quick: not the 1 M of the goal)' : ''}; ` +
        `baseline: psql \\copy of the same rows and columns to /dev/null, rows/s; ratio: verify time / read time`,
    },
  ];
}
