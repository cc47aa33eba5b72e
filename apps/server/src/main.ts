// Wires configuration → database → migrations → status feed → HTTP, and shuts them down in
// reverse order. Nothing else happens here.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import packageJson from '../../../package.json' with { type: 'json' };
import type { Config } from './config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { resolveDatabaseUrl } from './db/resolve-database-url.ts';
import { startStatusChangeFeed } from './db/status-change-feed.ts';
import { systemClock, type Clock } from './deps.ts';
import { createHttpApp } from './http/app.ts';
import type { Logger } from './observability/logger.ts';
import { redactUrl } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';

export interface StartServerOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
}

export interface RunningServer {
  url: string;
  port: number;
  db: Database;
  /** Graceful stop: refuse new connections, let in-flight requests finish, close the pool. */
  close(): Promise<void>;
}

export async function startServer({
  config,
  log,
  clock = systemClock,
}: StartServerOptions): Promise<RunningServer> {
  const database = await resolveDatabaseUrl(config, log);
  try {
    log.info({ database: redactUrl(database.url), embedded: database.embedded }, 'connecting to Postgres');
    await migrate(database.url, log);
    const db = createDatabase(database.url);
    const feed = await startStatusChangeFeed(database.url, db.pool, log);
    const shutdown = new AbortController();
    const metrics = createMetrics(db.prisma);
    const app = createHttpApp({
      ctx: { deps: { db, clock, log }, feed, shutdown: shutdown.signal },
      metrics,
      log,
      version: packageJson.version,
    });

    const server = app.listen(config.PORT, config.HOST);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
    log.info({ url, embeddedDatabase: database.embedded }, 'countersign is listening');

    let closing: Promise<void> | undefined;
    const close = async () => {
      log.info('shutting down: no new connections, finishing in-flight requests');
      shutdown.abort();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const graceOver = sleep(config.COUNTERSIGN_SHUTDOWN_GRACE_MS, 'timeout' as const, { ref: false });
      if ((await Promise.race([drained.then(() => 'drained' as const), graceOver])) === 'timeout') {
        log.warn('grace period over: closing remaining connections');
        server.closeAllConnections();
        await drained;
      }
      await feed.close();
      await db.close();
      await database.release();
      log.info('shut down');
    };
    return { url, port, db, close: () => (closing ??= close()) };
  } catch (error) {
    await database.release();
    throw error;
  }
}
