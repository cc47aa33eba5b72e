// Applies the SQL migrations in prisma/migrations with Prisma's own `_prisma_migrations`
// bookkeeping, so `prisma migrate status/deploy` agree with this runner wherever Prisma's engine
// is available. A session advisory lock (Prisma's own key) keeps concurrent starts from applying
// a migration twice.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';
import type { Database } from './client.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../prisma/migrations/', import.meta.url));

/** The advisory lock key Prisma Migrate takes, so this runner and `prisma migrate` exclude each other. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

const CREATE_BOOKKEEPING_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function readMigrationFiles(dir: string = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(`${dir}/${name}/migration.sql`, 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

async function readApplied(client: pg.ClientBase): Promise<AppliedRow[]> {
  const exists = await client.query<{ present: boolean }>(
    `SELECT to_regclass('"_prisma_migrations"') IS NOT NULL AS present`,
  );
  if (!exists.rows[0]?.present) return [];
  const { rows } = await client.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
  );
  return rows;
}

/** Names of local migrations not yet applied (empty when the database is up to date). */
export async function pendingMigrations(client: pg.ClientBase, dir?: string): Promise<string[]> {
  const [files, applied] = await Promise.all([readMigrationFiles(dir), readApplied(client)]);
  const done = new Set(
    applied.filter((r) => r.finished_at && !r.rolled_back_at).map((r) => r.migration_name),
  );
  return files.filter((f) => !done.has(f.name)).map((f) => f.name);
}

/** pendingMigrations on a connection of the database's pool, returned to it afterwards. */
export async function pendingMigrationsOf(db: Pick<Database, 'pool'>, dir?: string): Promise<string[]> {
  const client = await db.pool.connect();
  try {
    return await pendingMigrations(client, dir);
  } finally {
    client.release();
  }
}

export async function migrate(url: string, log: Logger, dir?: string): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    try {
      return await applyPending(client, log, dir);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

async function applyPending(client: pg.Client, log: Logger, dir?: string): Promise<MigrateResult> {
  await client.query(CREATE_BOOKKEEPING_TABLE);
  const files = await readMigrationFiles(dir);
  const applied = await readApplied(client);

  const failed = applied.find((r) => !r.finished_at && !r.rolled_back_at);
  if (failed) {
    throw new MigrationError(
      `migration ${failed.migration_name} failed earlier and was not rolled back; fix the database, then mark it ` +
        `with \`prisma migrate resolve\` or delete its row from _prisma_migrations`,
    );
  }
  const done = new Map(applied.filter((r) => !r.rolled_back_at).map((r) => [r.migration_name, r]));
  const local = new Set(files.map((f) => f.name));
  for (const name of done.keys()) {
    if (!local.has(name))
      log.warn({ migration: name }, 'database has a migration that is not in prisma/migrations');
  }

  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    const row = done.get(file.name);
    if (row) {
      if (row.checksum !== file.checksum) {
        log.warn({ migration: file.name }, 'applied migration was modified after it was applied');
      }
      result.alreadyApplied.push(file.name);
      continue;
    }
    await applyOne(client, file);
    log.info({ migration: file.name }, 'applied migration');
    result.applied.push(file.name);
  }
  return result;
}

async function applyOne(client: pg.Client, file: MigrationFile): Promise<void> {
  const id = randomUUID();
  const startedAt = new Date();
  try {
    await client.query('BEGIN');
    await client.query(file.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, now(), $3, NULL, NULL, $4, 1)`,
      [id, file.checksum, file.name, startedAt],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    const message = error instanceof Error ? error.message : String(error);
    // Recorded like Prisma records a failed migration: unfinished, with logs, blocking later runs.
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count)
       VALUES ($1, $2, $3, $4, $5, 0)`,
      [id, file.checksum, file.name, message, startedAt],
    );
    throw new MigrationError(`migration ${file.name} failed: ${message}`, { cause: error });
  }
}
