// The one kind of transaction every use case opens: BEGIN … COMMIT on one pooled pg client, with
// statements going straight to node-postgres (Prisma's interactive transaction cost more than the SQL
// on the hot paths: docs/decisions/0001-why-prisma-and-raw-sql.md). The SQL itself lives in the
// store modules (`*-store.ts`); pg-boss sends its jobs on the same transaction.
import type pg from 'pg';
import type { Database } from './client.ts';

/** Runs parameterised SQL inside a transaction and answers its rows. */
export interface Transaction {
  readonly kind: 'sql';
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<Row[]>;
  /** `value` as a quoted SQL string literal, for the parameterless text of `batch` and `commitWith`. */
  literal(value: string): string;
  /**
   * Sends parameterless `statements` in one round trip (a simple query) and answers each one's
   * rows, in order. Each statement takes its own snapshot when it starts (READ COMMITTED), so one
   * that follows a lock sees what the lock's holders committed. Sent as the transaction's first
   * step, BEGIN goes with them; with `commit`, COMMIT follows them and the transaction ends.
   */
  batch(statements: readonly string[], options?: { commit?: boolean }): Promise<unknown[][]>;
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

/**
 * BEGIN, `work`, COMMIT on one pooled client; ROLLBACK when `work` throws. BEGIN is sent with the
 * transaction's first statement when that is a `batch` (one round trip less), else on its own.
 */
export async function inTransaction<T>(
  db: Pick<Database, 'pool'>,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  const client = await db.pool.connect();
  let begun = false;
  let committed = false;
  const send = async (statements: readonly string[], commit: boolean): Promise<unknown[][]> => {
    if (committed) throw new Error('query after commit: the transaction has ended');
    if (statements.length === 0 && !commit) return [];
    const opening = begun ? [] : ['BEGIN'];
    // Set before sending: a batch that fails after its BEGIN leaves a transaction to roll back.
    begun = true;
    const text = [...opening, ...statements, ...(commit ? ['COMMIT'] : [])].join(';\n');
    const sent = (await client.query(text)) as pg.QueryResult | pg.QueryResult[];
    if (commit) committed = true;
    const results = Array.isArray(sent) ? sent : [sent];
    return results.slice(opening.length, opening.length + statements.length).map((r) => r.rows as unknown[]);
  };
  const tx: Transaction = {
    kind: 'sql',
    async query<Row>(text: string, values: readonly unknown[] = []) {
      if (committed) throw new Error('query after commitWith: the transaction has ended');
      if (!begun) {
        begun = true;
        await client.query('BEGIN');
      }
      const result = await client.query(text, values as unknown[]);
      return result.rows as Row[];
    },
    literal: (value) => client.escapeLiteral(value),
    batch: (statements, options = {}) => send(statements, options.commit === true),
    async commitWith(text) {
      if (committed) throw new Error('commitWith twice: the transaction has ended');
      await send([text], true);
    },
  };
  let broken = false;
  try {
    const result = await work(tx);
    if (begun && !committed) await client.query('COMMIT');
    return result;
  } catch (error) {
    if (begun && !committed) {
      await client.query('ROLLBACK').catch(() => {
        // The connection is gone (an outage): the pool must not hand it out again.
        broken = true;
      });
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

/** `values` as an SQL text[] of quoted literals, for the parameterless text of `Transaction.batch`. */
export function textArrayLiteral(tx: Transaction, values: readonly string[]): string {
  return `ARRAY[${values.map((value) => tx.literal(value)).join(', ')}]::text[]`;
}

/** Whether `error` is Postgres refusing a duplicate key (23505), optionally on one constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && (constraint === undefined || violated === constraint);
}
