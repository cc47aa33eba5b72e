// Embedded memory over time: `countersign serve` without DATABASE_URL (PGlite) takes approval
// requests over HTTP and its resident memory is sampled after 1,000, 2,000 and 5,000 of them (10,000
// without --quick), beside the same server on Postgres sampled at the same counts. Whether RSS
// stays flat from 1,000 on is the growth between the first and the last sample.
import { createDatabase } from '../apps/server/src/db/client.ts';
import { createApiKey } from '../apps/server/src/keys/create-api-key.ts';
import { embeddedMode, postgresMode, sendRequests, type Mode } from './embedded.bench.ts';
import { figureBelow, type BenchOptions, type BenchRow } from './lib/bench-row.ts';

const CONNECTIONS = 8;
const MB = 2 ** 20;

/** RSS in MB after each count of requests sent, in order. */
async function sampleRss(make: () => Promise<Mode>, counts: number[]): Promise<number[]> {
  const mode = await make();
  try {
    const server = await mode.start();
    try {
      const db = createDatabase(await mode.databaseUrl(), { maxConnections: 1 });
      const { key } = await createApiKey(db.prisma, { name: 'bench' }).finally(() => db.close());
      const samples: number[] = [];
      let sent = 0;
      for (const count of counts) {
        await sendRequests(server.url, key, count - sent, CONNECTIONS);
        sent = count;
        samples.push(server.rssBytes() / MB);
        console.log(`   ${mode.label}: rss after ${count} requests ${samples.at(-1)?.toFixed(0)} MB`);
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
