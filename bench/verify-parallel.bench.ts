// Verify on worker threads against the serial verifier, in process, over the same seeded history
// in the same run: events/s of each walk (the request check is part of both).
import pg from 'pg';
import { defaultVerifyWorkers } from '../apps/server/src/audit/walk-in-workers.ts';
import { verifyChain, type VerifyOptions } from '../apps/server/src/audit/verify-chain.ts';
import { auditHistory } from './lib/audit-history.ts';
import { median, repeat, type BenchOptions, type BenchRow } from './lib/bench-row.ts';

const MIN_EVENTS_PER_SECOND = 250_000;

export async function benchVerifyParallel({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 1 : 3;
  const history = await auditHistory(quick);
  const pool = new pg.Pool({ connectionString: history.url, max: 2 });
  const workers = Math.max(2, defaultVerifyWorkers());
  try {
    const timed = async (label: string, options: VerifyOptions) =>
      repeat(rounds, async (round) => {
        const started = performance.now();
        const result = await verifyChain(
          { pool },
          {
            ...options,
            onSerialFallback: (reason) => {
              throw new Error(`the parallel walk fell back to one thread: ${reason}`);
            },
          },
        );
        const seconds = (performance.now() - started) / 1000;
        if (!result.intact || result.events !== history.events)
          throw new Error(`verify said ${JSON.stringify(result).slice(0, 500)}`);
        console.log(
          `   ${label} round ${round + 1}: ${result.events} events in ${seconds.toFixed(1)} s, ${(result.events / seconds).toFixed(0)} events/s`,
        );
        return seconds;
      });
    await verifyChain({ pool }); // warm-up: the table into the caches
    const serial = median(await timed('serial', {}));
    const parallel = median(await timed(`${workers} workers`, { workers }));
    const figure = history.events / parallel;
    return [
      {
        name: 'verify-parallel',
        figure,
        unit: 'events/s',
        baseline: history.events / serial,
        ratio: serial / parallel,
        goal: `≥ ${MIN_EVENTS_PER_SECOND / 1000}k events/s`,
        pass: figure >= MIN_EVENTS_PER_SECOND,
        note: `${workers} worker threads; baseline: the serial verifier in the same run; ratio: speed-up`,
      },
    ];
  } finally {
    await pool.end();
  }
}
