// Tests run against real Postgres when DATABASE_URL is set (CI) and against embedded PGlite
// otherwise; each test file gets a database of its own (test/support/test-database.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'apps/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    setupFiles: ['./test/support/no-deprecations.ts'],
    globalSetup: ['./test/support/template-database.ts'],
  },
});
