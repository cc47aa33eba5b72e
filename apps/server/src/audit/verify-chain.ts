// Recomputes the audit hash chain from seq 1 and reports intact, or the first bad sequence number
// and what is wrong with it; then checks the request tables against the chain (verify-requests.ts). Reads in keyset batches, so memory stays flat however long the chain is, all
// in one snapshot: events appended while it runs cannot make the head look out of place.
import type pg from 'pg';
import { withReadSnapshot } from '../db/read-snapshot.ts';
import { chainHash, GENESIS_HASH } from './append-event.ts';
import { findRequestMismatch } from './verify-requests.ts';

const BATCH_SIZE = 2000;

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

interface EventRow {
  seq: string;
  type: string;
  request_id: string | null;
  actor: string;
  payload: unknown;
  occurred_at: Date;
  prev_hash: string;
  hash: string;
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
  for (;;) {
    const { rows }: { rows: EventRow[] } = await client.query<EventRow>(
      `SELECT seq::text AS seq, type, request_id, actor, payload, occurred_at, prev_hash, hash
         FROM audit_events WHERE audit_events.seq > $1::bigint ORDER BY audit_events.seq LIMIT $2`,
      [previousSeq ?? '0', BATCH_SIZE],
    );
    for (const row of rows) {
      if (firstSeq === null && row.seq !== '1') {
        return {
          intact: false,
          events,
          firstBadSeq: row.seq,
          problem: 'sequence_gap',
          detail: `the chain starts at event ${row.seq}, not 1: events 1–${BigInt(row.seq) - 1n} were deleted`,
        };
      }
      firstSeq ??= row.seq;
      if (previousSeq !== null && BigInt(row.seq) !== BigInt(previousSeq) + 1n) {
        return {
          intact: false,
          events,
          firstBadSeq: row.seq,
          problem: 'sequence_gap',
          detail: `events ${BigInt(previousSeq) + 1n}–${BigInt(row.seq) - 1n} are missing: they were deleted`,
        };
      }
      if (row.prev_hash !== previousHash) {
        return {
          intact: false,
          events,
          firstBadSeq: row.seq,
          problem: 'broken_link',
          detail:
            previousSeq === null
              ? `the first event does not start the chain: an earlier event was removed or this one was inserted`
              : `prev_hash does not match the hash of event ${previousSeq}: an event was removed, inserted or reordered here`,
        };
      }
      const expected = chainHash(previousHash, {
        type: row.type,
        requestId: row.request_id,
        actor: row.actor,
        payload: row.payload,
        occurredAt: row.occurred_at,
      });
      if (expected !== row.hash) {
        return {
          intact: false,
          events,
          firstBadSeq: row.seq,
          problem: 'hash_mismatch',
          detail: 'the stored hash does not match the event: its contents were changed after it was written',
        };
      }
      previousHash = row.hash;
      previousSeq = row.seq;
      events += 1;
    }
    options.onProgress?.(events);
    if (rows.length < BATCH_SIZE) break;
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
