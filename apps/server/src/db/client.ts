// Database handle: one pg pool shared by Prisma (through @prisma/adapter-pg) and the few raw
// queries that Prisma cannot express (migrations, LISTEN/NOTIFY, advisory locks).
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';

export type { PrismaClient };
export type { Prisma } from '../generated/prisma/client.ts';

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

export interface CreateDatabaseOptions {
  maxConnections?: number;
}

/** How long a transaction may wait for a pooled connection before it fails. */
export const TRANSACTION_MAX_WAIT_MS = 10_000;

export function createDatabase(url: string, options: CreateDatabaseOptions = {}): Database {
  // No connectionTimeoutMillis: pg-pool applies it to waiting for a free client too, and a burst of
  // clicks queued on a small pool then failed (Prisma's maxWait below is the bound that matters).
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // A checked-out client (a transaction between two statements, /readyz, a read snapshot) has no
  // listener of the pool's: Postgres ending the connection (57P01 on a restart) made pg emit an
  // unheard 'error' on it, which ended the process. Its next query fails instead, and the pool
  // discards it on release.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  // Interactive transactions queue for a pooled connection. Prisma's default wait (2 s) turned a
  // burst of clicks on one request into P2028 errors instead of decisions or polite refusals.
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS },
  });
  let closed = false;
  return {
    prisma,
    pool,
    url,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
