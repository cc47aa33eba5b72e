// A fresh database per test file: a new database on the server DATABASE_URL points at, or,
// when it is unset, a new embedded PGlite in a temporary directory.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../apps/server/src/db/embedded.ts';
import { silentLogger } from './logging.ts';

export interface TestDatabase {
  url: string;
  kind: 'postgres' | 'pglite';
  drop(): Promise<void>;
}

export const usingRealPostgres = Boolean(process.env['DATABASE_URL']);

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env['DATABASE_URL'];
  if (adminUrl) {
    const name = `countersign_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      kind: 'postgres',
      async drop() {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'countersign-test-'));
  const embedded = await startEmbeddedPostgres(dir, silentLogger());
  return {
    url: embedded.url,
    kind: 'pglite',
    async drop() {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
