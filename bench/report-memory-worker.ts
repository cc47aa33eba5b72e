// One memory measurement in a process of its own (forked by report-memory.bench.ts with
// --expose-gc), so every run starts from the same idle heap and RSS whatever ran before it.
// Samples process.memoryUsage() every 50 ms and sends the peaks above the idle level over IPC.
// The bench also runs it with V8's old space capped, where a run that holds its rows dies.
import { Writable } from 'node:stream';
import { generateReport } from '../apps/server/src/audit/report/generate-report.ts';
import { reportRows, type ReportRow } from '../apps/server/src/audit/report/report-rows.ts';
import { CsvReportWriter } from '../apps/server/src/audit/report/write-csv.ts';
import { verifyChain } from '../apps/server/src/audit/verify-chain.ts';
import { createDatabase, type Database } from '../apps/server/src/db/client.ts';
import { inReadSnapshot } from '../apps/server/src/db/read-snapshot.ts';
import { SEED_START } from './seed-approval-history.ts';

export type Mode = 'verify' | 'csv' | 'md' | 'naive';

export interface Measurement {
  mode: Mode;
  /** Report rows written, or events verified. */
  items: number;
  bytes: number;
  /** The chain verdict, from verifyChain or the report summary; null for the naive load. */
  intact: boolean | null;
  seconds: number;
  /** Idle level after gc, and the peaks above it, in bytes. */
  idle: { rss: number; heapUsed: number };
  peak: { rss: number; heapUsed: number };
  samples: number;
}

const SAMPLE_MS = 50;
const PERIOD = { from: SEED_START, to: new Date('2026-01-01T00:00:00.000Z') };

function countingSink(): { out: Writable; bytes: () => number } {
  let bytes = 0;
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  return { out, bytes: () => bytes };
}

async function run(db: Database, mode: Mode): Promise<Pick<Measurement, 'items' | 'bytes' | 'intact'>> {
  const sink = countingSink();
  switch (mode) {
    case 'verify': {
      const result = await verifyChain(db);
      return { items: result.events, bytes: 0, intact: result.intact };
    }
    case 'csv':
    case 'md': {
      const { rows, summary } = await generateReport({
        db,
        period: PERIOD,
        format: mode,
        out: sink.out,
        actor: 'bench',
        now: () => new Date(),
      });
      return { items: rows, bytes: sink.bytes(), intact: summary.chain.intact };
    }
    case 'naive': {
      // The same rows query, all rows in one batch and held in memory, then written as CSV.
      const rows = await inReadSnapshot(db, async (client) => {
        const all: ReportRow[] = [];
        for await (const row of reportRows(client, PERIOD, {}, Number.MAX_SAFE_INTEGER)) all.push(row);
        return all;
      });
      const writer = new CsvReportWriter(sink.out);
      await writer.begin(PERIOD);
      for (const row of rows) await writer.row(row);
      return { items: rows.length, bytes: sink.bytes(), intact: null };
    }
  }
}

async function measure(url: string, mode: Mode): Promise<Measurement> {
  const gc = globalThis.gc ?? (() => undefined);
  const db = createDatabase(url);
  try {
    // Warm up what every mode loads (a pooled connection, Prisma's transaction path), then settle.
    await db.prisma.$transaction((tx) => tx.$queryRaw`SELECT 1`);
    gc();
    gc();
    const idle = process.memoryUsage();
    const peak = { rss: idle.rss, heapUsed: idle.heapUsed };
    let samples = 0;
    const sample = () => {
      const now = process.memoryUsage();
      peak.rss = Math.max(peak.rss, now.rss);
      peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
      samples += 1;
    };
    const timer = setInterval(sample, SAMPLE_MS);
    const started = performance.now();
    try {
      const result = await run(db, mode);
      sample();
      return {
        mode,
        ...result,
        seconds: (performance.now() - started) / 1000,
        idle: { rss: idle.rss, heapUsed: idle.heapUsed },
        peak: { rss: peak.rss - idle.rss, heapUsed: peak.heapUsed - idle.heapUsed },
        samples,
      };
    } finally {
      clearInterval(timer);
    }
  } finally {
    await db.close();
  }
}

const [mode, url] = process.argv.slice(2);
if (!url || !['verify', 'csv', 'md', 'naive'].includes(mode ?? '')) {
  throw new Error('usage: report-memory-worker.ts verify|csv|md|naive <database url>');
}
const measurement = await measure(url, mode as Mode);
await new Promise<void>((resolve, reject) => {
  if (!process.send) throw new Error('report-memory-worker.ts runs forked, with an IPC channel');
  process.send(measurement, (error: Error | null) => (error ? reject(error) : resolve()));
});
process.disconnect();
