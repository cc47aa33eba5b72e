// Reads that must agree with each other (a chain and its head, a report's rows and its summary)
// run in one REPEATABLE READ, READ ONLY transaction: one snapshot, whatever commits meanwhile.
// On Postgres nobody waits for it. In embedded mode (PGlite, one shared session) other
// connections wait until it ends, so keep such reads to verification and reports.
import type pg from 'pg';

export async function withReadSnapshot<T>(
  pool: pg.Pool,
  read: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await read(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is gone: do not return it to the pool
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
