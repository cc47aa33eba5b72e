// A fresh database per test file: a new database on the server DATABASE_URL points at, or,
// when it is unset, a new embedded PGlite in a temporary directory. `createMigratedTestDatabase`
// copies the run's migrated template (template-database.ts) where there is one.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { startEmbeddedPostgres } from '../../apps/server/src/db/embedded.ts';
import { silentLogger } from './logging.ts';

export interface TestDatabase {
  url: string;
  kind: 'postgres' | 'pglite';
  drop(): Promise<void>;
}

export const usingRealPostgres = Boolean(process.env['DATABASE_URL']);

/** Postgres refuses to copy a template while another session is connected to it (55006). */
const OBJECT_IN_USE = '55006';

async function createDatabase(adminUrl: string, name: string, template: string | null): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const sql = template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`;
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(sql);
        return;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code !== OBJECT_IN_USE || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
      }
    }
  } finally {
    await admin.end();
  }
}

/** An empty database: for tests of migrations themselves, or that migrate on their own terms. */
export async function createTestDatabase(): Promise<TestDatabase> {
  return openTestDatabase(null);
}

/** A database with every migration applied: a copy of the run's template when there is one. */
export async function createMigratedTestDatabase(): Promise<TestDatabase> {
  const template = process.env['DATABASE_URL'] ? inject('templateDatabase') : null;
  const database = await openTestDatabase(template);
  if (!template) await migrate(database.url, silentLogger());
  return database;
}

async function openTestDatabase(template: string | null): Promise<TestDatabase> {
  const adminUrl = process.env['DATABASE_URL'];
  if (adminUrl) {
    const name = `countersign_test_${randomBytes(6).toString('hex')}`;
    await createDatabase(adminUrl, name, template);
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
