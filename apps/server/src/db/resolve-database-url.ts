// Decides which Postgres a process talks to: DATABASE_URL when set, otherwise the embedded one,
// either already served by a running countersign server or started here.
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import { findRunningEmbedded, startEmbeddedPostgres } from './embedded.ts';

export interface ResolvedDatabase {
  url: string;
  embedded: boolean;
  /** Stops the embedded database if this process started it. */
  release(): Promise<void>;
}

export async function resolveDatabaseUrl(config: Config, log: Logger): Promise<ResolvedDatabase> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, embedded: false, release: () => Promise.resolve() };
  }
  const running = await findRunningEmbedded(config.COUNTERSIGN_DATA_DIR);
  if (running) {
    log.debug({ url: running }, 'using the embedded Postgres of the running server');
    return { url: running, embedded: true, release: () => Promise.resolve() };
  }
  const embedded = await startEmbeddedPostgres(config.COUNTERSIGN_DATA_DIR, log);
  return { url: embedded.url, embedded: true, release: () => embedded.stop() };
}
