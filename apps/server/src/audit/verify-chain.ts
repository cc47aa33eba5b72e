// Recomputes the audit hash chain from seq 1 and reports intact, or the first bad sequence number
// and what is wrong with it; then checks the request tables against the chain (verify-requests.ts).
// Reads in keyset batches, so memory stays flat however long the chain is, all in one snapshot:
// events appended while it runs cannot make the head look out of place. The next batch is asked
// for before the current one is hashed, so Postgres reads while Node hashes.
import type pg from 'pg';
import { withReadSnapshot } from '../db/read-snapshot.ts';
import { GENESIS_HASH } from './append-event.ts';
import { storedEventHash } from './verify-event-hash.ts';
import { findRequestMismatch } from './verify-requests.ts';

const BATCH_SIZE = 10_000;

/**
 * Rows as arrays (no object per row). occurred_at comes as epoch milliseconds (the column keeps
 * three fractional digits), which is cheaper to turn into toISOString() than a timestamp's text.
 */
const EVENTS_SQL = `SELECT seq::text, type, request_id::text, actor, payload,
       (extract(epoch FROM occurred_at) * 1000)::bigint::text, prev_hash, hash
  FROM audit_events WHERE audit_events.seq > $1::bigint ORDER BY audit_events.seq LIMIT $2`;

export type ChainProblem =
  | 'hash_mismatch'
  | 'broken_link'
  | 'sequence_gap'
  | 'head_mismatch'
  /** A request's rows (status, decisions) disagree with its events in an intact chain. */
  | 'request_mismatch';

export type VerifyResult =
  | { intact: true; events: number; firstSeq: string | null; lastSeq: string | null; lastHash: string }
  | {
      intact: false;
      events: number;
      firstBadSeq: string;
      problem: ChainProblem;
      detail: string;
      /** With request_mismatch: the request whose rows disagree with the chain. */
      requestId?: string;
    };

/** seq, type, request_id, actor, payload, occurred_at (epoch ms), prev_hash, hash */
type EventRow = [string, string, string | null, string, unknown, string, string, string];

function fetchBatch(client: pg.PoolClient, afterSeq: string): Promise<EventRow[]> {
  const rows = client
    .query<EventRow>({ text: EVENTS_SQL, values: [afterSeq, BATCH_SIZE], rowMode: 'array' })
    .then((result) => result.rows);
  // A batch asked for ahead is not awaited when verification stops early; its failure then
  // surfaces on the transaction's next statement instead.
  rows.catch(() => undefined);
  return rows;
}

export interface VerifyOptions {
  /** Called after each batch with the number of events checked so far. */
  onProgress?: (events: number) => void;
}

/** Verifies the chain in a snapshot of its own. */
export function verifyChain(pool: pg.Pool, options: VerifyOptions = {}): Promise<VerifyResult> {
  return withReadSnapshot(pool, (client) => verifyChainInSnapshot(client, options));
}

/** Verifies the chain on a client whose transaction already holds the snapshot to verify. */
export async function verifyChainInSnapshot(
  client: pg.PoolClient,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  let previousHash = GENESIS_HASH;
  let previousSeq: string | null = null;
  let firstSeq: string | null = null;
  let events = 0;
  let next: Promise<EventRow[]> | null = fetchBatch(client, '0');
  while (next) {
    const rows: EventRow[] = await next;
    const last = rows[rows.length - 1];
    next = rows.length === BATCH_SIZE && last ? fetchBatch(client, last[0]) : null;
    for (const [seq, type, requestId, actor, payload, occurredAtMs, prevHash, hash] of rows) {
      if (firstSeq === null && seq !== '1') {
        return {
          intact: false,
          events,
          firstBadSeq: seq,
          problem: 'sequence_gap',
          detail: `the chain starts at event ${seq}, not 1: events 1–${BigInt(seq) - 1n} were deleted`,
        };
      }
      firstSeq ??= seq;
      if (previousSeq !== null && BigInt(seq) !== BigInt(previousSeq) + 1n) {
        return {
          intact: false,
          events,
          firstBadSeq: seq,
          problem: 'sequence_gap',
          detail: `events ${BigInt(previousSeq) + 1n}–${BigInt(seq) - 1n} are missing: they were deleted`,
        };
      }
      if (prevHash !== previousHash) {
        return {
          intact: false,
          events,
          firstBadSeq: seq,
          problem: 'broken_link',
          detail:
            previousSeq === null
              ? `the first event does not start the chain: an earlier event was removed or this one was inserted`
              : `prev_hash does not match the hash of event ${previousSeq}: an event was removed, inserted or reordered here`,
        };
      }
      const expected = storedEventHash(previousHash, {
        type,
        requestId,
        actor,
        payload,
        occurredAt: new Date(Number(occurredAtMs)).toISOString(),
      });
      if (expected !== hash) {
        return {
          intact: false,
          events,
          firstBadSeq: seq,
          problem: 'hash_mismatch',
          detail: 'the stored hash does not match the event: its contents were changed after it was written',
        };
      }
      previousHash = hash;
      previousSeq = seq;
      events += 1;
    }
    options.onProgress?.(events);
  }
  // The head, written with every append, says where the chain ends: events removed from the end
  // leave it pointing past the last event still stored.
  const { rows: heads } = await client.query<{ seq: string; hash: string }>(
    `SELECT seq::text AS seq, hash FROM audit_chain_head WHERE id = 1`,
  );
  const head = heads[0];
  if (!head || head.seq !== (previousSeq ?? '0') || head.hash !== previousHash) {
    const lastSeq = BigInt(previousSeq ?? '0');
    const headSeq = head ? BigInt(head.seq) : 0n;
    return {
      intact: false,
      events,
      firstBadSeq: String(headSeq > lastSeq ? lastSeq + 1n : lastSeq),
      problem: 'head_mismatch',
      detail: head
        ? headSeq > lastSeq
          ? `the chain head records event ${head.seq} but the chain ends at ${previousSeq ?? 'nothing'}: events were removed from the end`
          : `the chain head (event ${head.seq}) does not match the last event ${previousSeq ?? '-'}`
        : 'the chain head record is missing',
    };
  }
  const mismatch = await findRequestMismatch(client, previousSeq ?? '0');
  if (mismatch) {
    return {
      intact: false,
      events,
      firstBadSeq: mismatch.seq,
      problem: 'request_mismatch',
      detail: mismatch.detail,
      requestId: mismatch.requestId,
    };
  }
  return { intact: true, events, firstSeq, lastSeq: previousSeq, lastHash: previousHash };
}
