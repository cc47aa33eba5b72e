// Reads that must agree with each other (a chain and its head, a report's rows and its summary)
// run in one REPEATABLE READ, READ ONLY transaction: one snapshot, whatever commits meanwhile.
// On Postgres nobody waits for it. In embedded mode (PGlite, one shared session) other
// connections wait until it ends, so keep such reads to verification and reports.
import type pg from 'pg';
import type { Database } from './client.ts';

/** What a snapshot is taken from: a pool whose connections are lent for the read. */
export type SnapshotSource = Pick<Database, 'pool'>;

/** A connection whose open transaction holds a read snapshot; it runs one query at a time. */
export type ReadSnapshot = pg.ClientBase;

/** Runs `read` in one REPEATABLE READ, READ ONLY snapshot of the database. */
export async function inReadSnapshot<T>(
  db: SnapshotSource,
  read: (client: ReadSnapshot) => Promise<T>,
): Promise<T> {
  const client = await db.pool.connect();
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
export function inImportedSnapshot<T>(
  db: SnapshotSource,
  snapshot: string,
  read: (client: ReadSnapshot) => Promise<T>,
): Promise<T> {
  if (!/^[0-9A-Fa-f-]+$/.test(snapshot)) return Promise.reject(new Error(`not a snapshot id: ${snapshot}`));
  return inReadSnapshot(db, async (client) => {
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
    return read(client);
  });
}

/** Whether the pool can lend a second connection beside a snapshot's (at least two connections). */
export function hasSecondConnection(db: SnapshotSource): boolean {
  return (db.pool.options.max ?? 10) >= 2;
}

/** Exports the snapshot `client`'s transaction holds, for a second connection to import. */
export async function exportSnapshot(client: ReadSnapshot): Promise<string> {
  const { rows } = await client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
  return rows[0]?.snapshot ?? '';
}
