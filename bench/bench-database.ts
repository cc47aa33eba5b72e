// A fresh, migrated database for one benchmark run on the Postgres DATABASE_URL points at
// (default: the local server), dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../apps/server/src/db/migrate.ts';
import { createLogger } from '../apps/server/src/observability/logger.ts';

export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export const ADMIN_URL = process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `countersign_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await migrate(url.toString(), createLogger('silent'));
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}
