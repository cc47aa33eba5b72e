// Compliance report memory over a growing audit chain (250k, then 1M events): the streamed report
// (CSV, and Markdown's two passes), each verifying the whole chain for its summary, against the
// naive load of the same rows query in one batch. Each run is a forked process of its own, so
// peaks are measured from the same idle level. REPORT_BENCH_SIZES=20000,80000 picks other sizes.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createBenchDatabase } from './bench-database.ts';
import type { Measurement, Mode } from './report-memory-worker.ts';
import { seedApprovalHistory } from './seed-approval-history.ts';

const WORKER = fileURLToPath(new URL('./report-memory-worker.ts', import.meta.url));
/** Old-space cap for the capped runs at the largest size: the streamed report must finish under it. */
const CAPPED_OLD_SPACE_MB = 64;
const SIZES = (process.env['REPORT_BENCH_SIZES'] ?? '250000,1000000').split(',').map(Number);
const MODES = ['verify', 'csv', 'md', 'naive'] as const;
const LABELS: Record<Mode, string> = {
  verify: 'verifyChain alone',
  csv: 'report csv',
  md: 'report md (2 passes)',
  naive: 'naive: rows in 1 batch',
};

function measure(url: string, mode: Mode, extraExecArgv: string[] = []): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [mode, url], {
      execArgv: [...process.execArgv, '--expose-gc', ...extraExecArgv],
      // A capped run that runs out of heap prints V8's fatal error; the table says what happened.
      ...(extraExecArgv.length > 0 ? { stdio: ['inherit', 'inherit', 'ignore', 'ipc'] } : {}),
    });
    let result: Measurement | undefined;
    child.on('message', (message) => (result = message as Measurement));
    child.on('error', reject);
    child.on('exit', (code) =>
      result && code === 0 ? resolve(result) : reject(new Error(`${mode} run exited with code ${code}`)),
    );
  });
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const peaks = (a: Measurement, b: Measurement) =>
  `${ratio(a.peak.rss, b.peak.rss)} / ${ratio(a.peak.heapUsed, b.peak.heapUsed)}`;

/** Columns padded to their widest cell; the first `left` left-aligned, the rest right-aligned. */
function printTable(rows: string[][], left = 2): void {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  for (const row of rows) {
    const cells = row.map((cell, i) =>
      i < left ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
    );
    console.log(`  ${cells.join('  ').trimEnd()}`);
  }
}

function tableRow(size: number, m: Measurement): string[] {
  return [
    count(size),
    LABELS[m.mode],
    `${count(m.items)} ${m.mode === 'verify' ? 'events' : 'rows'}`,
    `${m.seconds.toFixed(1)} s`,
    `${count(m.items / m.seconds)}/s`,
    `+${mb(m.peak.rss)}`,
    `+${mb(m.peak.heapUsed)}`,
    m.bytes ? mb(m.bytes) : '-',
    m.intact === null ? '-' : m.intact ? 'intact' : 'NOT INTACT',
  ];
}

export async function benchReportMemory(): Promise<void> {
  const bench = await createBenchDatabase();
  const pool = new pg.Pool({ connectionString: bench.url, max: 1 });
  try {
    console.log(`report memory (audit events: ${SIZES.map(count).join(', ')}; memory sampled every 50 ms)`);
    const results: Record<Mode, Measurement>[] = [];
    let nextRequest = 0;
    for (const size of SIZES) {
      const seeded = await seedApprovalHistory(pool, { firstRequest: nextRequest, targetEvents: size });
      nextRequest = seeded.nextRequest;
      const runs = { verify: await measure(bench.url, 'verify') } as Record<Mode, Measurement>;
      console.log(
        `  seeded ${count(seeded.events)} events (${count(seeded.requests)} requests) in ${seeded.seconds.toFixed(1)} s, ` +
          `${count(seeded.events / seeded.seconds)} events/s; verifyChain: ${runs.verify.intact ? 'intact' : 'NOT INTACT'}, ` +
          `${count(runs.verify.items)} events`,
      );
      if (!runs.verify.intact) throw new Error('the seeded chain does not verify');
      for (const mode of ['csv', 'md', 'naive'] as const) runs[mode] = await measure(bench.url, mode);
      if (runs.naive.bytes !== runs.csv.bytes) throw new Error('the naive CSV differs from the streamed one');
      results.push(runs);
    }
    console.log();
    printTable([
      ['events', 'run', 'items', 'time', 'rate', 'rss peak', 'heap peak', 'output', 'chain'],
      ...results.flatMap((runs, i) => MODES.map((mode) => tableRow(SIZES[i] ?? 0, runs[mode]))),
    ]);
    const [small, large] = [results[0], results.at(-1)];
    if (small && large && small !== large) {
      console.log();
      printTable(
        [
          [
            'peak ratios, rss / heapUsed',
            ...SIZES.map((size) => `vs naive at ${count(size)}`),
            `${count(SIZES.at(-1) ?? 0)} vs ${count(SIZES[0] ?? 0)} events`,
          ],
          ...MODES.map((mode) => [
            LABELS[mode],
            ...results.map((runs) => (mode === 'csv' || mode === 'md' ? peaks(runs[mode], runs.naive) : '-')),
            peaks(large[mode], small[mode]),
          ]),
        ],
        1,
      );
    }
    console.log(
      `  (peaks above each run's idle level after gc: rss ${mb(large?.csv.idle.rss ?? 0)}, heapUsed ${mb(large?.csv.idle.heapUsed ?? 0)})`,
    );
    console.log();
    const cap = [`--max-old-space-size=${CAPPED_OLD_SPACE_MB}`];
    for (const mode of ['csv', 'naive'] as const) {
      const outcome = await measure(bench.url, mode, cap).then(
        (m) =>
          `finished: ${count(m.items)} rows in ${m.seconds.toFixed(1)} s, heap peak +${mb(m.peak.heapUsed)}`,
        () => 'died (out of memory)',
      );
      console.log(
        `  ${LABELS[mode]}, old space capped at ${CAPPED_OLD_SPACE_MB} MB, ${count(SIZES.at(-1) ?? 0)} events: ${outcome}`,
      );
    }
  } finally {
    await pool.end();
    await bench.drop();
  }
}
