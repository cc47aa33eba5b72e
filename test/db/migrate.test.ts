// The migration runner: Prisma's `_prisma_migrations` bookkeeping, idempotence, the advisory lock
// against concurrent runs, failed migrations, and pendingMigrations().
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  MIGRATIONS_DIR,
  MigrationError,
  migrate,
  pendingMigrations,
  type MigrateResult,
} from '../../apps/server/src/db/migrate.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { silentLogger } from '../support/logging.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';

interface MigrationRow {
  id: string;
  migration_name: string;
  checksum: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}

interface LocalMigration {
  name: string;
  checksum: string;
}

/** The migrations on disk, read independently of the runner: directory name and sha256 of the file. */
async function localMigrations(dir: string = MIGRATIONS_DIR): Promise<LocalMigration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      checksum: createHash('sha256')
        .update(await readFile(join(dir, name, 'migration.sql')))
        .digest('hex'),
    })),
  );
}

const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  databases.push(database);
  return database;
}

function migrationRows(url: string): Promise<MigrationRow[]> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<MigrationRow>(
      `SELECT id, migration_name, checksum, started_at, finished_at, rolled_back_at, applied_steps_count, logs
         FROM "_prisma_migrations" ORDER BY migration_name, started_at`,
    );
    return rows;
  });
}

/** A copy of prisma/migrations in a temporary directory, plus extra migrations. */
async function migrationsDirWith(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-migrations-'));
  tempDirs.push(dir);
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

async function tableExists(url: string, table: string): Promise<boolean> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<{ present: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AS present`,
      [`"${table}"`],
    );
    return rows[0]?.present === true;
  });
}

/** A name that sorts after every real migration. */
const LATER = '29991231000000';

afterEach(async () => {
  for (const database of databases.splice(0)) await database.drop();
});

afterAll(async () => {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

// Each test starts a fresh database: an embedded PGlite (initdb in WASM) when DATABASE_URL is unset.
describe('migrate()', { timeout: 180_000 }, () => {
  it('applies every migration once, recorded in _prisma_migrations as Prisma Migrate records them', async () => {
    const local = await localMigrations();
    expect(local.length).toBeGreaterThan(0);
    const database = await freshDatabase();

    const result = await migrate(database.url, silentLogger());
    expect(result).toEqual({ applied: local.map((m) => m.name), alreadyApplied: [] });

    const rows = await migrationRows(database.url);
    expect(rows.map((r) => r.migration_name)).toEqual(local.map((m) => m.name));
    for (const [i, row] of rows.entries()) {
      const file = local[i];
      expect(row.checksum, `checksum of ${row.migration_name}`).toBe(file?.checksum);
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at, `finished_at of ${row.migration_name}`).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Ids are unique, like Prisma's.
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });

  it('applies nothing on a second run and leaves the bookkeeping as it was', async () => {
    const local = await localMigrations();
    const database = await freshDatabase();
    await migrate(database.url, silentLogger());
    const before = await migrationRows(database.url);

    const again = await migrate(database.url, silentLogger());
    expect(again).toEqual({ applied: [], alreadyApplied: local.map((m) => m.name) });
    expect(await migrationRows(database.url)).toEqual(before);
  });

  it.skipIf(!usingRealPostgres)(
    'applies each migration exactly once when 5 runs start at once (real Postgres only: PGlite has one backend, so advisory locks cannot exclude)',
    async () => {
      const local = await localMigrations();
      const database = await freshDatabase();

      const results: MigrateResult[] = await Promise.all(
        Array.from({ length: 5 }, () => migrate(database.url, silentLogger())),
      );

      // Between them the runs applied every migration exactly once; the rest found them applied.
      const applied = results.flatMap((r) => r.applied).sort();
      expect(applied).toEqual(local.map((m) => m.name));
      for (const r of results) expect([...r.applied, ...r.alreadyApplied].sort()).toEqual(applied);

      const counts = await withPgClient(database.url, async (client) => {
        const { rows } = await client.query<{ migration_name: string; n: number }>(
          `SELECT migration_name, count(*)::int AS n FROM "_prisma_migrations" GROUP BY migration_name ORDER BY 1`,
        );
        return rows;
      });
      expect(counts).toEqual(local.map((m) => ({ migration_name: m.name, n: 1 })));
    },
  );

  it('records a failed migration as unfinished with its error, rolls its statements back and refuses to go on', async () => {
    const broken = `${LATER}_broken`;
    const dir = await migrationsDirWith({
      [broken]: 'CREATE TABLE "half_done" ("id" INTEGER);\nSELECT * FROM "no_such_table";\n',
    });
    const local = await localMigrations(dir);
    const database = await freshDatabase();

    const failure = await migrate(database.url, silentLogger(), dir).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(MigrationError);
    expect(String((failure as Error).message)).toContain(broken);
    expect(String((failure as Error).message)).toContain('no_such_table');

    const rows = await migrationRows(database.url);
    expect(rows.map((r) => r.migration_name)).toEqual(local.map((m) => m.name));
    const good = rows.filter((r) => r.migration_name !== broken);
    for (const row of good) expect(row.finished_at).toBeInstanceOf(Date);
    const failed = rows.find((r) => r.migration_name === broken);
    expect(failed).toMatchObject({
      finished_at: null,
      rolled_back_at: null,
      applied_steps_count: 0,
      checksum: local.find((m) => m.name === broken)?.checksum,
    });
    expect(failed?.logs).toContain('no_such_table');
    // The migration ran in a transaction: its first statement is undone too.
    expect(await tableExists(database.url, 'half_done')).toBe(false);

    // A later run stops at the failed migration instead of carrying on, with or without the broken file.
    for (const runDir of [dir, undefined]) {
      const again = await migrate(database.url, silentLogger(), runDir).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(again).toBeInstanceOf(MigrationError);
      expect(String((again as Error).message)).toMatch(new RegExp(`${broken} failed earlier`));
    }
    // ...and records nothing new.
    expect(await migrationRows(database.url)).toEqual(rows);
  });
});

describe('pendingMigrations()', { timeout: 180_000 }, () => {
  it('lists unapplied migrations: all on a fresh database, none after migrate, new ones when added', async () => {
    const local = await localMigrations();
    const database = await freshDatabase();
    const added = `${LATER}_add_note`;
    const dir = await migrationsDirWith({
      [added]: 'ALTER TABLE "clients" ADD COLUMN "note" TEXT;\n',
    });

    await withPgClient(database.url, async (client) => {
      expect(await pendingMigrations(client)).toEqual(local.map((m) => m.name));
    });

    await migrate(database.url, silentLogger());
    await withPgClient(database.url, async (client) => {
      expect(await pendingMigrations(client)).toEqual([]);
      expect(await pendingMigrations(client, dir)).toEqual([added]);
    });

    expect(await migrate(database.url, silentLogger(), dir)).toEqual({
      applied: [added],
      alreadyApplied: local.map((m) => m.name),
    });
    await withPgClient(database.url, async (client) => {
      expect(await pendingMigrations(client, dir)).toEqual([]);
    });
  });

  it('counts a failed migration as pending', async () => {
    const database = await freshDatabase();
    const broken = `${LATER}_broken`;
    const dir = await migrationsDirWith({ [broken]: 'THIS IS NOT SQL;\n' });

    await expect(migrate(database.url, silentLogger(), dir)).rejects.toBeInstanceOf(MigrationError);
    await withPgClient(database.url, async (client) => {
      expect(await pendingMigrations(client, dir)).toEqual([broken]);
    });
  });
});
