// The one place that tells "the database is away" from every other failure: socket errors of the
// pg driver, Postgres's shutdown and connection SQLSTATEs, and Prisma's wrappings of both. The HTTP
// boundary, recordDecision, the job workers and the sweeper all ask this module, so an outage is a
// 503 DATABASE_UNAVAILABLE (or a pause) everywhere and never an INTERNAL.
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';

/** Seconds a client is told to wait (Retry-After) while the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** admin_shutdown, crash_shutdown, cannot_connect_now; class 08 is connection_exception. */
const SQLSTATES = new Set(['57P01', '57P02', '57P03']);

/** Can't reach, timed out, closed the connection, pool timeout (Prisma's own codes). */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** Kinds of @prisma/adapter-pg's DriverAdapterError that mean the connection is gone. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);

/** pg's own errors for a lost connection carry no code, only these messages. */
const PG_MESSAGES = [
  /Connection terminated/i,
  /Client has encountered a connection error and is not queryable/i,
  /timeout exceeded when trying to connect/i,
  /Client was closed and is not queryable/i,
  /Can't reach database server/i,
  /the database system is (shutting down|starting up|in recovery mode)/i,
];

function isOutageCode(code: unknown): boolean {
  if (typeof code !== 'string') return false;
  return (
    SOCKET_CODES.has(code) || SQLSTATES.has(code) || PRISMA_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)
  );
}

function describesOutage(value: object): boolean {
  const fields = value as Record<string, unknown>;
  if (
    isOutageCode(fields['code']) ||
    isOutageCode(fields['errorCode']) ||
    isOutageCode(fields['originalCode'])
  )
    return true;
  if (typeof fields['kind'] === 'string' && ADAPTER_KINDS.has(fields['kind'])) return true;
  const message = fields['message'];
  return typeof message === 'string' && PG_MESSAGES.some((pattern) => pattern.test(message));
}

/** True when the error (or anything it wraps) says the database cannot be reached right now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<object>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const value = queue.shift();
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    // A deliberate domain error is not an outage, whatever it wraps.
    if (value instanceof AppError) {
      if (value.code === 'DATABASE_UNAVAILABLE') return true;
      if (value === error) return false;
    }
    if (describesOutage(value)) return true;
    const fields = value as Record<string, unknown>;
    queue.push(fields['cause']);
    const meta = fields['meta'];
    if (typeof meta === 'object' && meta !== null) {
      queue.push((meta as Record<string, unknown>)['driverAdapterError']);
    }
    if (value instanceof AggregateError) queue.push(...(value.errors as unknown[]));
  }
  return false;
}

/** The AppError for an outage, or undefined when the error is something else. */
export function asDatabaseUnavailable(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error.code === 'DATABASE_UNAVAILABLE' ? error : undefined;
  if (!isDatabaseUnavailable(error)) return undefined;
  return new AppError('DATABASE_UNAVAILABLE', {
    detail: 'the database is unavailable; try again shortly',
    cause: error,
  });
}

/** Runs `work`, turning an outage into AppError DATABASE_UNAVAILABLE; other errors pass unchanged. */
export async function mapDatabaseOutage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asDatabaseUnavailable(error) ?? error;
  }
}

export interface RetryWhileUnavailableOptions {
  /** Give up (rethrow the outage) once this performance.now() instant passes. */
  deadline: number;
  /** Called before each wait, e.g. to log. */
  onRetry?: (error: unknown, delayMs: number) => void;
  signal?: AbortSignal;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `work` again, with growing pauses, for as long as it fails because the database is away and
 * the deadline has not passed. For steps that must not be redone from the start (the record of a
 * callback that already reached its receiver).
 */
export async function retryWhileDatabaseUnavailable<T>(
  work: () => Promise<T>,
  { deadline, onRetry, signal, firstDelayMs = 250, maxDelayMs = 2000 }: RetryWhileUnavailableOptions,
): Promise<T> {
  let delayMs = firstDelayMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || signal?.aborted || performance.now() + delayMs > deadline)
        throw error;
      onRetry?.(error, delayMs);
      await sleep(delayMs, undefined, signal ? { signal } : {}).catch(() => undefined);
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }
}
