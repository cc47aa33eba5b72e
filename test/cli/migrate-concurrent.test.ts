// Three `countersign migrate` processes started at once on one fresh database: the advisory lock
// lets exactly one of them apply each migration. Real Postgres only.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readMigrationFiles } from '../../apps/server/src/db/migrate.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';

describe('countersign migrate, three processes at once', () => {
  let database: TestDatabase | undefined;

  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await killRunningClis();
    await database?.drop();
  });

  it.skipIf(!usingRealPostgres)(
    'applies each migration exactly once (real Postgres only: the embedded PGlite serves one process at a time and has one backend, so advisory locks cannot exclude)',
    async () => {
      const names = (await readMigrationFiles()).map((m) => m.name);
      expect(names.length).toBeGreaterThan(0);
      database = await createTestDatabase();
      const env = cliEnv({ DATABASE_URL: database.url });

      const results = await Promise.all([1, 2, 3].map(() => runCli(['migrate'], env)));
      for (const result of results) expect(result.code, describeRun(result)).toBe(0);

      // Between them the processes reported each migration applied exactly once...
      const appliedLines = results
        .flatMap((r) => r.stdout.split('\n'))
        .filter((line) => line.startsWith('applied '))
        .sort();
      expect(appliedLines).toEqual(names.map((n) => `applied ${n}`));

      // ...and the bookkeeping has one finished row per migration.
      const { rows } = await withPgClient(database.url, (client) =>
        client.query<{ migration_name: string; n: number; finished: number }>(
          `SELECT migration_name, count(*)::int AS n, count(finished_at)::int AS finished
             FROM "_prisma_migrations" GROUP BY migration_name ORDER BY migration_name`,
        ),
      );
      expect(rows).toEqual(names.map((migration_name) => ({ migration_name, n: 1, finished: 1 })));
    },
    120_000,
  );
});
