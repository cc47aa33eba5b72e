// The reads of chain verification: the snapshot it runs in (and a second session in the same
// snapshot), the events streamed in seq order or fetched in chunks through a cursor, the head,
// the event after a stretch, and what checkpoints are checked against.
import pg from 'pg';
import type { Database } from '../db/client.ts';
import type { ReadSnapshot } from '../db/read-snapshot.ts';
import type { ChainRange, EventRow } from './chain-walk.ts';

/** The database verification reads from: its pool hands out the snapshot's connections. */
export type VerifyDb = Pick<Database, 'pool'>;

/**
 * Rows as arrays (no object per row). occurred_at comes as epoch milliseconds (the column keeps
 * three fractional digits), which is cheaper to turn into toISOString() than a timestamp's text.
 */
const EVENT_COLUMNS = `seq::text, type, request_id::text, actor, payload,
       (extract(epoch FROM occurred_at) * 1000)::bigint::text, prev_hash, hash, signature`;
const EVENTS_SQL = `SELECT ${EVENT_COLUMNS} FROM audit_events ORDER BY audit_events.seq`;
const RANGE_SQL = `SELECT ${EVENT_COLUMNS} FROM audit_events
  WHERE seq >= $1::bigint AND seq <= $2::bigint ORDER BY audit_events.seq`;

/**
 * Streams the chain (or `range`) to `check` in seq order until it returns false. Rows after that
 * are read and dropped (the query runs to its end; only a tampered chain stops early).
 */
export function streamChainEvents(
  client: ReadSnapshot,
  range: ChainRange | undefined,
  check: (row: EventRow) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const config: pg.QueryArrayConfig = range
      ? { text: RANGE_SQL, values: [range.fromSeq, range.throughSeq], rowMode: 'array' }
      : { text: EVENTS_SQL, rowMode: 'array' };
    const query = new pg.Query<EventRow>(config);
    let checking = true;
    let failure: unknown;
    query.on('row', (row: EventRow) => {
      if (!checking) return;
      try {
        checking = check(row);
      } catch (error) {
        checking = false;
        failure = error;
      }
    });
    query.on('error', reject);
    query.on('end', () => (failure === undefined ? resolve() : reject(failure as Error)));
    client.query(query);
  });
}

const CURSOR = 'countersign_verify_chain';

/** As EVENT_COLUMNS, with the payload as jsonb's text (parsed by the worker it is sent to). */
const CURSOR_COLUMNS = `seq::text, type, request_id::text, actor, payload::text,
       (extract(epoch FROM occurred_at) * 1000)::bigint::text, prev_hash, hash, signature`;

/** Opens the cursor over the chain (or `range`) in seq order that fetchChainChunk reads. */
export async function openChainCursor(client: ReadSnapshot, range: ChainRange | undefined): Promise<void> {
  await client.query(
    `DECLARE ${CURSOR} NO SCROLL CURSOR FOR SELECT ${CURSOR_COLUMNS} FROM audit_events
        ${range ? 'WHERE seq >= $1::bigint AND seq <= $2::bigint' : ''} ORDER BY audit_events.seq`,
    range ? [range.fromSeq, range.throughSeq] : [],
  );
}

/** The cursor's next `count` events as arrays (the payload as text); empty at the end. */
export async function fetchChainChunk(client: ReadSnapshot, count: number): Promise<EventRow[]> {
  const { rows } = await client.query<EventRow>({
    text: `FETCH ${Math.max(1, Math.floor(count))} FROM ${CURSOR}`,
    rowMode: 'array',
  });
  return rows;
}

/** Closes the cursor openChainCursor opened. */
export async function closeChainCursor(client: ReadSnapshot): Promise<void> {
  await client.query(`CLOSE ${CURSOR}`);
}

/** The chain head record (seq and hash of the last append), undefined when it is missing. */
export async function readChainHead(
  client: ReadSnapshot,
): Promise<{ seq: string; hash: string } | undefined> {
  const { rows } = await client.query<{ seq: string; hash: string }>(
    `SELECT seq::text AS seq, hash FROM audit_chain_head WHERE id = 1`,
  );
  return rows[0];
}

/** The first event after `seq` (its seq and prev_hash), undefined when there is none. */
export async function readEventAfter(
  client: ReadSnapshot,
  seq: string,
): Promise<{ seq: string; prev_hash: string } | undefined> {
  const { rows } = await client.query<{ seq: string; prev_hash: string }>(
    `SELECT seq::text AS seq, prev_hash FROM audit_events WHERE seq > $1::bigint ORDER BY audit_events.seq LIMIT 1`,
    [seq],
  );
  return rows[0];
}

/** The checkpoints stored in the chain, oldest first: each event's seq and payload. */
export async function readCheckpointEvents(db: VerifyDb): Promise<{ event_seq: string; payload: unknown }[]> {
  const { rows } = await db.pool.query<{ event_seq: string; payload: unknown }>(
    `SELECT seq::text AS event_seq, payload FROM audit_events WHERE type = 'audit.checkpoint' ORDER BY seq`,
  );
  return rows;
}

/** The hash of the event at `seq`, undefined when the chain has none there. */
export async function readEventHash(db: VerifyDb, seq: string): Promise<string | undefined> {
  const { rows } = await db.pool.query<{ hash: string }>(
    'SELECT hash FROM audit_events WHERE seq = $1::bigint',
    [seq],
  );
  return rows[0]?.hash;
}

/** The first event up to `seq` signed by an event key not among `kids`, undefined when none is. */
export async function findEventSignedByOtherKey(
  db: VerifyDb,
  seq: string,
  kids: readonly string[],
): Promise<{ seq: string; kid: string } | undefined> {
  const { rows } = await db.pool.query<{ seq: string; kid: string }>(
    `SELECT seq::text AS seq, split_part(signature, '.', 1) AS kid FROM audit_events
          WHERE seq <= $1::bigint AND signature IS NOT NULL AND split_part(signature, '.', 1) <> ALL($2::text[])
          ORDER BY seq LIMIT 1`,
    [seq, kids],
  );
  return rows[0];
}
