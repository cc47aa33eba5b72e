// Which failures count as "the database is away": the shapes pg, Postgres and Prisma 7 (through
// @prisma/adapter-pg) actually produced when a throwaway cluster was stopped or restarted.
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import {
  asDatabaseUnavailable,
  isDatabaseUnavailable,
  mapDatabaseOutage,
  retryWhileDatabaseUnavailable,
} from './database-outage.ts';

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), {
    code,
    errno: -111,
    syscall: 'connect',
  });
}

function postgresError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

/** What Prisma 7 throws, with the adapter's error in `meta.driverAdapterError`. */
function prismaError(code: string, cause: Record<string, unknown>): Error {
  return Object.assign(new Error('Invalid `prisma.$queryRaw()` invocation'), {
    name: 'PrismaClientKnownRequestError',
    code,
    meta: { driverAdapterError: { name: 'DriverAdapterError', cause } },
  });
}

describe('isDatabaseUnavailable', () => {
  it.each([
    ['connection refused', socketError('ECONNREFUSED')],
    ['connection reset', socketError('ECONNRESET')],
    [
      'admin shutdown (pg_ctl stop/restart -m fast)',
      postgresError('57P01', 'terminating connection due to administrator command'),
    ],
    ['starting up', postgresError('57P03', 'the database system is starting up')],
    ['connection failure', postgresError('08006', 'connection failure')],
    ['pg: connection terminated', new Error('Connection terminated unexpectedly')],
    ['pg: client not queryable', new Error('Client has encountered a connection error and is not queryable')],
    ['pg-pool: connect timeout', new Error('timeout exceeded when trying to connect')],
    [
      'Prisma P1001 in a transaction',
      prismaError('P1001', { kind: 'DatabaseNotReachable', host: '127.0.0.1' }),
    ],
    [
      'Prisma P2010 with an unreachable adapter error',
      prismaError('P2010', { kind: 'DatabaseNotReachable' }),
    ],
    [
      'Prisma P2010 with 57P01',
      prismaError('P2010', { kind: 'postgres', code: '57P01', originalCode: '57P01' }),
    ],
    ['Prisma closed connection', prismaError('P2010', { kind: 'ConnectionClosed' })],
    ['wrapped as a cause', new Error('flush failed', { cause: socketError('ECONNREFUSED') })],
    ['one of several', new AggregateError([new Error('x'), socketError('ECONNREFUSED')])],
  ])('%s: unavailable', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(asDatabaseUnavailable(error)?.code).toBe('DATABASE_UNAVAILABLE');
  });

  it.each([
    ['a unique violation', postgresError('23505', 'duplicate key value violates unique constraint')],
    ['Prisma unique violation', prismaError('P2002', { kind: 'UniqueConstraintViolation' })],
    ['a syntax error', postgresError('42601', 'syntax error at or near "SELEC"')],
    [
      'a domain error wrapping an outage',
      new AppError('NOT_READY', { detail: 'x', cause: socketError('ECONNREFUSED') }),
    ],
    ['a plain error', new Error('boom')],
    ['a string', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('%s: not an outage', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(asDatabaseUnavailable(error)).toBeUndefined();
  });

  it('keeps an AppError DATABASE_UNAVAILABLE as it is', () => {
    const error = new AppError('DATABASE_UNAVAILABLE', { detail: 'away' });
    expect(asDatabaseUnavailable(error)).toBe(error);
  });
});

describe('mapDatabaseOutage', () => {
  it('turns an outage into AppError DATABASE_UNAVAILABLE and lets other errors through unchanged', async () => {
    await expect(mapDatabaseOutage(() => Promise.reject(socketError('ECONNREFUSED')))).rejects.toMatchObject({
      code: 'DATABASE_UNAVAILABLE',
      status: 503,
    });
    const other = new AppError('NOT_FOUND', { detail: 'no such request' });
    await expect(mapDatabaseOutage(() => Promise.reject(other))).rejects.toBe(other);
    await expect(mapDatabaseOutage(() => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe('retryWhileDatabaseUnavailable', () => {
  it('tries again while the database is away and returns the first success', async () => {
    let calls = 0;
    const result = await retryWhileDatabaseUnavailable(
      () => {
        calls += 1;
        return calls < 3 ? Promise.reject(socketError('ECONNREFUSED')) : Promise.resolve('stored');
      },
      { deadline: performance.now() + 5000, firstDelayMs: 5 },
    );
    expect(result).toBe('stored');
    expect(calls).toBe(3);
  });

  it('gives up at the deadline with the outage, and at once on any other error', async () => {
    const outage = socketError('ECONNREFUSED');
    await expect(
      retryWhileDatabaseUnavailable(() => Promise.reject(outage), {
        deadline: performance.now() + 50,
        firstDelayMs: 5,
      }),
    ).rejects.toBe(outage);
    let calls = 0;
    const other = new Error('constraint');
    await expect(
      retryWhileDatabaseUnavailable(
        () => {
          calls += 1;
          return Promise.reject(other);
        },
        { deadline: performance.now() + 5000 },
      ),
    ).rejects.toBe(other);
    expect(calls).toBe(1);
  });
});
