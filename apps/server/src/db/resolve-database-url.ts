// Decides which Postgres a process talks to: DATABASE_URL when set, otherwise the embedded one,
// either already served by a running countersign server or started here. Only the server may
// create a new embedded database; a one-shot command that finds none refuses, so a key is never
// made in a fresh database nobody serves (a command run from another directory).
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { findRunningEmbedded, startEmbeddedPostgres } from './embedded.ts';

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  /** Stops the embedded database if this process started it. */
  release(): Promise<void>;
}

export interface ResolveDatabaseOptions {
  /** True for the server: an empty data directory gets a new embedded database. */
  createEmbedded: boolean;
}

/** There is no embedded database in the data directory, and this process may not create one. */
export class NoEmbeddedDatabaseError extends Error {
  override name = 'NoEmbeddedDatabaseError';
  readonly dataDir: string;
  constructor(dataDir: string) {
    super(
      `no Countersign database in ${dataDir}, and this command does not create one: set DATABASE_URL ` +
        `to the server's database, or pass --data-dir (or COUNTERSIGN_DATA_DIR) with the data directory ` +
        '`countersign serve` uses',
    );
    this.dataDir = dataDir;
  }
}

/** Whether the data directory holds an embedded database (a Postgres cluster under pgdata/). */
export async function hasEmbeddedDatabase(dataDir: string): Promise<boolean> {
  return access(join(dataDir, 'pgdata', 'PG_VERSION')).then(
    () => true,
    () => false,
  );
}

export async function resolveDatabaseUrl(
  config: Config,
  log: Logger,
  options: ResolveDatabaseOptions,
): Promise<ResolvedDatabase> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, embedded: false, release: () => Promise.resolve() };
  }
  const running = await findRunningEmbedded(config.COUNTERSIGN_DATA_DIR);
  if (running) {
    log.debug({ url: running }, 'using the embedded Postgres of the running server');
    return { url: running, embedded: true, release: () => Promise.resolve() };
  }
  const dataDir = resolve(config.COUNTERSIGN_DATA_DIR);
  if (!options.createEmbedded && !(await hasEmbeddedDatabase(dataDir))) {
    throw new NoEmbeddedDatabaseError(dataDir);
  }
  const embedded = await startEmbeddedPostgres(dataDir, log);
  return { url: embedded.url, embedded: true, release: () => embedded.stop() };
}
