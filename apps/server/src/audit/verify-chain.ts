// Recomputes the audit hash chain from seq 1 and reports intact, or the first bad sequence number
// and what is wrong with it; then checks the request tables against the chain (verify-requests.ts).
// All in one snapshot: events appended while it runs cannot make the head look out of place. The
// events come as one query whose rows are checked as they arrive and not kept: memory stays flat
// however long the chain is (the socket waits while a row is hashed), and no row outlives the
// young generation, where batches of rows held for hashing grew the heap by ~100 MB at 1 M events.
import { GENESIS_HASH } from './append-event.ts';
import { readEventKeyRows } from './chain-store.ts';
import {
  exportSnapshot,
  hasSecondConnection,
  inImportedSnapshot,
  inReadSnapshot,
  type ReadSnapshot,
} from '../db/read-snapshot.ts';
import { readChainHead, readEventAfter, streamChainEvents, type VerifyDb } from './chain-verify-store.ts';
import { ChainWalk, type ChainProblem, type ChainRange } from './chain-walk.ts';
import { eventKeysFrom } from './event-key.ts';
import { walkInWorkers } from './walk-in-workers.ts';
import { findRequestMismatch, type RequestMismatch, type RequestScope } from './verify-requests.ts';

const PROGRESS_EVERY = 10_000;

export type { ChainRange } from './chain-walk.ts';

export type { ChainProblem } from './chain-walk.ts';

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

export interface VerifyOptions {
  /** Called after each batch with the number of events checked so far. */
  onProgress?: (events: number) => void;
  /**
   * The pool's connections are Postgres sessions of their own (not the embedded PGlite's one
   * shared session): the request check then runs on a second connection in the same snapshot,
   * while this one walks the chain. Over 1 M events it is several seconds of aggregation.
   */
  separateSessions?: boolean;
  /**
   * Hash the chain on this many worker threads, in chunks whose seams are checked in order; the
   * result is the serial walk's. Undefined or 1: on this thread.
   */
  workers?: number;
  /** With workers: events per chunk (tests make seams fall where they want them). */
  chunkEvents?: number;
  /** With workers: called with the reason when they cannot start and the walk runs on this thread. */
  onSerialFallback?: (reason: string) => void;
}

/** Verifies the chain in a snapshot of its own. */
export function verifyChain(db: VerifyDb, options: VerifyOptions = {}): Promise<VerifyResult> {
  return inReadSnapshot(db, async (client) => {
    // A pool of one connection would have the second wait for the first.
    if (!options.separateSessions || !hasSecondConnection(db)) return verifyChainInSnapshot(client, options);
    const snapshot = await exportSnapshot(client);
    const requestCheck = inImportedSnapshot(db, snapshot, async (other) => {
      // The head of this snapshot: where the chain ends when it is intact, the only case that uses it.
      const head = await readChainHead(other);
      return findRequestMismatch(other, head?.seq ?? '0');
    });
    // Settled before the snapshot's transaction ends, whatever the chain walk finds.
    const settled = requestCheck.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await verifyChainInSnapshot(client, { ...options, requestCheck });
    } finally {
      await settled;
    }
  });
}

/** Verifies the chain on a client whose transaction already holds the snapshot to verify. */
export async function verifyChainInSnapshot(
  client: ReadSnapshot,
  options: VerifyOptions & {
    /** The request check already running on another connection of this snapshot. */
    requestCheck?: Promise<RequestMismatch | null>;
    /** Only this stretch of the chain. */
    range?: ChainRange;
    /** With `range`: compare only the rows of the requests created in this scope with the chain. */
    requestScope?: RequestScope;
  } = {},
): Promise<VerifyResult> {
  const { range } = options;
  const startSeq = range?.fromSeq ?? '1';
  const { keyRows, signingRows } = await readEventKeyRows(client);
  const eventKeys = eventKeysFrom(keyRows, signingRows[0]);
  const walk = new ChainWalk(eventKeys, {
    startSeq,
    prevHash: range?.prevHash ?? GENESIS_HASH,
    ranged: !!range,
  });
  let walked = false;
  if (options.workers !== undefined && options.workers > 1) {
    const outcome = await walkInWorkers(
      client,
      range,
      options.workers,
      walk,
      options.onProgress,
      options.chunkEvents,
    );
    if (outcome === true) walked = true;
    else options.onSerialFallback?.(outcome);
  }
  if (!walked) {
    await streamChainEvents(client, range, (row) => {
      const ok = walk.check(row);
      if (ok && walk.events % PROGRESS_EVERY === 0) options.onProgress?.(walk.events);
      return ok;
    });
  }
  const { problem, events, firstSeq } = walk;
  const previousSeq = walk.previousSeq;
  const previousHash = walk.previousHash;
  if (problem) return { intact: false, ...problem };
  options.onProgress?.(events);
  if (range) {
    const seam = await checkSeam(client, range, previousSeq, previousHash, events);
    if (seam) return seam;
    const mismatch = await (options.requestCheck ??
      findRequestMismatch(client, previousSeq ?? '0', options.requestScope));
    if (mismatch) return requestProblem(events, mismatch);
    return { intact: true, events, firstSeq, lastSeq: previousSeq, lastHash: previousHash };
  }
  // The head, written with every append, says where the chain ends: events removed from the end
  // leave it pointing past the last event still stored.
  const head = await readChainHead(client);
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
  const mismatch = await (options.requestCheck ?? findRequestMismatch(client, previousSeq ?? '0'));
  if (mismatch) return requestProblem(events, mismatch);
  return { intact: true, events, firstSeq, lastSeq: previousSeq, lastHash: previousHash };
}

function requestProblem(events: number, mismatch: RequestMismatch): VerifyResult {
  return {
    intact: false,
    events,
    firstBadSeq: mismatch.seq,
    problem: 'request_mismatch',
    detail: mismatch.detail,
    requestId: mismatch.requestId,
  };
}

/**
 * After a stretch: it must have reached `throughSeq`, and the event after it (when there is one)
 * must follow it, or the head must be its last event (when there is none).
 */
async function checkSeam(
  client: ReadSnapshot,
  range: ChainRange,
  lastSeq: string | null,
  lastHash: string,
  events: number,
): Promise<VerifyResult | null> {
  const broken = (seq: string, problem: ChainProblem, detail: string): VerifyResult => ({
    intact: false,
    events,
    firstBadSeq: seq,
    problem,
    detail,
  });
  if (lastSeq !== range.throughSeq) {
    const missing = lastSeq === null ? range.fromSeq : String(BigInt(lastSeq) + 1n);
    return broken(
      missing,
      'sequence_gap',
      `events ${missing}–${range.throughSeq} are missing: they were deleted`,
    );
  }
  const next = await readEventAfter(client, lastSeq);
  if (next) {
    const expected = String(BigInt(lastSeq) + 1n);
    if (next.seq !== expected)
      return broken(
        expected,
        'sequence_gap',
        `events ${expected}–${BigInt(next.seq) - 1n} are missing: they were deleted`,
      );
    if (next.prev_hash !== lastHash)
      return broken(
        next.seq,
        'broken_link',
        `prev_hash does not match the hash of event ${lastSeq}: an event was removed, inserted or reordered here`,
      );
    return null;
  }
  const head = await readChainHead(client);
  if (head && head.seq === lastSeq && head.hash === lastHash) return null;
  const headSeq = head ? BigInt(head.seq) : 0n;
  return broken(
    String(headSeq > BigInt(lastSeq) ? BigInt(lastSeq) + 1n : BigInt(lastSeq)),
    'head_mismatch',
    head
      ? headSeq > BigInt(lastSeq)
        ? `the chain head records event ${head.seq} but the chain ends at ${lastSeq}: events were removed from the end`
        : `the chain head (event ${head.seq}) does not match the last event ${lastSeq}`
      : 'the chain head record is missing',
  );
}
