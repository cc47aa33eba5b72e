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

/**
 * Runs `read` on a second connection in the snapshot another transaction exported with
 * pg_export_snapshot(), so two reads of one snapshot run side by side. Only for pools whose
 * connections are sessions of their own: in embedded mode the second one would wait for the first.
 */
export function withImportedSnapshot<T>(
  pool: pg.Pool,
  snapshot: string,
  read: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  if (!/^[0-9A-Fa-f-]+$/.test(snapshot)) return Promise.reject(new Error(`not a snapshot id: ${snapshot}`));
  return withReadSnapshot(pool, async (client) => {
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
    return read(client);
  });
}
