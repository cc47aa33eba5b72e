// The one kind of transaction every use case opens: BEGIN … COMMIT on one pooled pg client, with
// statements going straight to node-postgres (Prisma's interactive transaction cost more than the SQL
// on the hot paths: docs/decisions/0001-why-prisma-and-raw-sql.md). The SQL itself lives in the
// store modules (`*-store.ts`); pg-boss sends its jobs on the same transaction.
import type { Database } from './client.ts';

/** Runs parameterised SQL inside a transaction and answers its rows. */
export interface Transaction {
  readonly kind: 'sql';
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<Row[]>;
  /** `value` as a quoted SQL string literal, for `commitWith`'s parameterless text. */
  literal(value: string): string;
  /**
   * Sends `text` and COMMIT in one round trip (a simple query of two statements) and ends the
   * transaction: for a last statement that takes a lock held until commit (the chain append), so
   * the lock is not held across a turn of the event loop. Nothing may be queried afterwards.
   */
  commitWith(text: string): Promise<void>;
}

/** Where a store runs a read: inside the use case's transaction, or on the pool outside one. */
export type SqlSource = Transaction | Pick<Database, 'pool'>;

/** Runs parameterised SQL on the transaction, or on a pooled connection, and answers its rows. */
export async function runSql<Row = Record<string, unknown>>(
  source: SqlSource,
  text: string,
  values: readonly unknown[] = [],
): Promise<Row[]> {
  if ('kind' in source) return source.query<Row>(text, values);
  const result = await source.pool.query(text, values as unknown[]);
  return result.rows as Row[];
}

/** BEGIN, `work`, COMMIT on one pooled client; ROLLBACK when `work` throws. */
export async function inTransaction<T>(
  db: Pick<Database, 'pool'>,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const client = await db.pool.connect();
  let committed = false;
  const tx: Transaction = {
    kind: 'sql',
    async query<Row>(text: string, values: readonly unknown[] = []) {
      if (committed) throw new Error('query after commitWith: the transaction has ended');
      const result = await client.query(text, values as unknown[]);
      return result.rows as Row[];
    },
    literal: (value) => client.escapeLiteral(value),
    async commitWith(text) {
      if (committed) throw new Error('commitWith twice: the transaction has ended');
      await client.query(`${text};\nCOMMIT`);
      committed = true;
    },
  };
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(tx);
    if (!committed) await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      // The connection is gone (an outage): the pool must not hand it out again.
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Whether `error` is Postgres refusing a duplicate key (23505), optionally on one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && (constraint === undefined || violated === constraint);
}
