// Counts the statements a pg pool sends (each query() call of a client it hands out, Prisma's
// through @prisma/adapter-pg included), with their text, while counting is on: for upper bounds on
// what one operation costs.
import type pg from 'pg';

export interface StatementCounter {
  /** Forgets what was counted and counts from now on. */
  start(): void;
  /** Stops counting and answers the texts sent since start(). */
  stop(): string[];
}

export function countStatements(pool: pg.Pool): StatementCounter {
  const wrapped = new WeakSet<pg.PoolClient>();
  const texts: string[] = [];
  let counting = false;
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const counted = (...args: unknown[]): unknown => {
      if (counting) {
        const first = args[0];
        texts.push(typeof first === 'string' ? first : String((first as { text?: unknown }).text));
      }
      return query(...args);
    };
    Object.assign(client, { query: counted });
  });
  return {
    start() {
      texts.length = 0;
      counting = true;
    },
    stop() {
      counting = false;
      return [...texts];
    },
  };
}
