// A transaction on one pooled pg client, for hot paths where Prisma's interactive transaction
// costs more than the SQL (intake and decide: docs/decisions/0001-why-prisma-and-raw-sql.md). Statements go straight to
// node-postgres; pg-boss and the chain append take the same executor.
import type pg from 'pg';
import type { Prisma } from './client.ts';

/** Runs parameterised SQL inside a transaction and answers its rows. */
export interface SqlExecutor {
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

/** Either kind of open transaction the write helpers (jobs, chain, cards) accept. */
export type TransactionDb = Prisma.TransactionClient | SqlExecutor;

export function isSqlExecutor(tx: TransactionDb): tx is SqlExecutor {
  return 'kind' in tx && tx.kind === 'sql';
}

/** Runs raw SQL on whichever transaction it is given. */
export async function runSql<Row = Record<string, unknown>>(
  tx: TransactionDb,
  text: string,
  values: readonly unknown[] = [],
): Promise<Row[]> {
  if (isSqlExecutor(tx)) return tx.query<Row>(text, values);
  return tx.$queryRawUnsafe<Row[]>(text, ...values);
}

/** BEGIN, `work`, COMMIT on one pooled client; ROLLBACK when `work` throws. */
export async function withSqlTransaction<T>(
  pool: pg.Pool,
  work: (tx: SqlExecutor) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let committed = false;
  const tx: SqlExecutor = {
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
