// Embedded memory over time: `countersign serve` without DATABASE_URL (PGlite) takes approval
// requests over HTTP and its resident memory is sampled after 1,000, 2,000 and 5,000 of them (10,000
// without --quick), beside the same server on Postgres sampled at the same counts. Whether RSS
// stays flat from 1,000 on is the growth between the first and the last sample.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '../apps/server/src/db/client.ts';
import { createApiKey } from '../apps/server/src/keys/create-api-key.ts';
import { embeddedMode, postgresMode, sendRequests, type Mode } from './embedded.bench.ts';
import { figureBelow, type BenchOptions, type BenchRow } from './lib/bench-row.ts';

const CONNECTIONS = 8;
/** Preloaded into the server: writes its memoryUsage() and WASM memory sizes into a file. */
const REPORT_MEMORY_MODULE = fileURLToPath(new URL('./lib/report-memory.mjs', import.meta.url));
const MB = 2 ** 20;

interface MemoryReport {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  wasm: number[];
}

/**
 * Resident bytes of the mappings exactly as large as a WebAssembly memory: V8 maps each memory as
 * one region of its size, so their RSS is the pages of the WASM heap that were touched.
 */
function wasmResidentBytes(pid: number, sizes: number[]): number {
  const kb = new Set(sizes.filter((size) => size > 0).map((size) => size / 1024));
  let resident = 0;
  let matches = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const size = /^Size:\s+(\d+) kB/.exec(line);
    if (size) matches = kb.has(Number(size[1]));
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && matches) resident += Number(rss[1]) * 1024;
  }
  return resident;
}

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;

function describeMemory(report: MemoryReport): string {
  return (
    `JS heap used ${mb(report.heapUsed)} of ${mb(report.heapTotal)}, external ${mb(report.external)} ` +
    `(array buffers ${mb(report.arrayBuffers)}), WASM memories ${report.wasm.map(mb).join(' + ') || 'none'}`
  );
}

/** RSS in MB after each count of requests sent, in order. */
async function sampleRss(make: () => Promise<Mode>, counts: number[]): Promise<number[]> {
  const mode = await make();
  const memoryFile = join(await mkdtemp(join(tmpdir(), 'countersign-bench-memory-')), 'memory.json');
  const readMemory = async () => JSON.parse(await readFile(memoryFile, 'utf8')) as MemoryReport;
  try {
    const server = await mode.start({
      nodeArgs: [
        '--expose-gc',
        '--import',
        REPORT_MEMORY_MODULE,
        // Extra node flags for the servers of both modes, e.g. --max-semi-space-size=4.
        ...(process.env['EMBEDDED_SERVER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
      ],
      env: { COUNTERSIGN_BENCH_MEMORY_FILE: memoryFile },
    });
    try {
      const db = createDatabase(await mode.databaseUrl(), { maxConnections: 1 });
      const { key } = await createApiKey(db, { name: 'bench' }).finally(() => db.close());
      const samples: number[] = [];
      let sent = 0;
      for (const count of counts) {
        await sendRequests(server.url, key, count - sent, CONNECTIONS);
        sent = count;
        samples.push(server.rssBytes() / MB);
        // The report after a full collection, so the JS heap shows what is retained.
        process.kill(server.pid, 'SIGUSR2');
        await new Promise((resolve) => setTimeout(resolve, 500));
        const memory = await readMemory();
        console.log(
          `   ${mode.label}: rss after ${count} requests ${samples.at(-1)?.toFixed(0)} MB; after a full GC: ` +
            `${describeMemory(memory)}, of them resident ${mb(wasmResidentBytes(server.pid, memory.wasm))}`,
        );
      }
      return samples;
    } finally {
      await server.stop();
    }
  } finally {
    await mode.cleanup();
  }
}

export async function benchEmbeddedMemory({ quick }: BenchOptions): Promise<BenchRow[]> {
  const counts = quick ? [1_000, 2_000, 5_000] : [1_000, 2_000, 5_000, 10_000];
  const embedded = await sampleRss(embeddedMode, counts);
  const postgres = await sampleRss(postgresMode, counts);
  const note = 'baseline: the same server on Postgres (127.0.0.1:5432), a new empty database, same count';
  const rows = counts.map((count, i) =>
    figureBelow(
      {
        name: `embedded rss at ${count} req`,
        figure: embedded[i] ?? Number.NaN,
        unit: 'MB',
        baseline: postgres[i] ?? null,
        note,
      },
      300,
    ),
  );
  const growth = (samples: number[]) => (samples.at(-1) ?? Number.NaN) - (samples[0] ?? Number.NaN);
  rows.push(
    figureBelow(
      {
        name: `embedded rss growth ${counts[0]}→${counts.at(-1)} req`,
        figure: growth(embedded),
        unit: 'MB',
        baseline: growth(postgres),
        note: `flat from ${counts[0]} on; ${note}`,
      },
      20,
    ),
  );
  return rows;
}
