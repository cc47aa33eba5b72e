// Start-up waits a bounded time for a database that is still coming up (a container started
// beside it, a failover in progress), then gives up with one sentence naming the database.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';

export class DatabaseUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnreachableError';
  }
}

/** Host, port and database name of a connection string, never its password. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    const name = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
    return `${name} on ${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
  } catch {
    return 'the database in DATABASE_URL (unparseable URL)';
  }
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}

// Wrong password or role: waiting will not fix it.
function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('28');
}

export interface WaitForDatabaseInput {
  url: string;
  timeoutMs: number;
  log: Logger;
  /** Per attempt; a server that accepts TCP but never answers must not hold start-up for ever. */
  connectTimeoutMs?: number;
}

export async function waitForDatabase({
  url,
  timeoutMs,
  log,
  connectTimeoutMs = 5000,
}: WaitForDatabaseInput): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 250;
  for (let attempt = 1; ; attempt += 1) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      const left = deadline - Date.now();
      if (isPermanent(error) || left <= 0) {
        const waited = attempt > 1 ? ` after ${Math.round(timeoutMs / 1000)} s` : '';
        throw new DatabaseUnreachableError(
          `cannot reach the database ${describeDatabase(url)}${waited}: ${reasonOf(error)}`,
          { cause: error },
        );
      }
      log.warn(
        { attempt, err: reasonOf(error), retryInMs: Math.min(delay, left) },
        'database not reachable yet',
      );
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, 2000);
    }
  }
}
