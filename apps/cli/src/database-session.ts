// Opens the database for a one-shot command: DATABASE_URL, the running server's embedded
// Postgres, or the existing embedded one started for the duration of the command (never a new
// one: that is `serve`'s job). Migrations are applied first, so a command never meets an older
// schema. Every command says on stderr which database it used.
import { resolve } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../server/src/config.ts';
import { createDatabase, type Database } from '../../server/src/db/client.ts';
import { migrate } from '../../server/src/db/migrate.ts';
import {
  NoEmbeddedDatabaseError,
  resolveDatabaseUrl,
  type ResolvedDatabase,
} from '../../server/src/db/resolve-database-url.ts';
import { describeDatabase } from '../../server/src/db/wait-for-database.ts';
import { createLogger, type Logger } from '../../server/src/observability/logger.ts';
import { CliError } from './cli-error.ts';

export function cliLogger(): Logger {
  const config = loadConfig();
  // Diagnostics go to stderr so that stdout carries only the command's output.
  return createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, pino.destination(2));
}

/** The database a command works on; exit 2 when there is none to open. */
export async function openCommandDatabase(config: Config, log: Logger): Promise<ResolvedDatabase> {
  let resolved: ResolvedDatabase;
  try {
    resolved = await resolveDatabaseUrl(config, log, { createEmbedded: false });
  } catch (error) {
    if (error instanceof NoEmbeddedDatabaseError) throw new CliError(error.message, 2);
    throw error;
  }
  // One line on stderr, so a key made in the wrong database is noticed at once.
  process.stderr.write(
    resolved.embedded
      ? `countersign: using the embedded database in ${resolve(config.COUNTERSIGN_DATA_DIR)} (DATABASE_URL is unset)\n`
      : `countersign: using the database ${describeDatabase(resolved.url)} (DATABASE_URL)\n`,
  );
  return resolved;
}

export async function withDatabase<T>(work: (db: Database, log: Logger) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const log = cliLogger();
  const resolved = await openCommandDatabase(config, log);
  try {
    await migrate(resolved.url, log);
    const db = createDatabase(resolved.url, { maxConnections: 2 });
    try {
      return await work(db, log);
    } finally {
      await db.close();
    }
  } finally {
    await resolved.release();
  }
}
