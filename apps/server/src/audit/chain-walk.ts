// The checks of one event of the chain after another, in seq order: consecutive seqs, the link to
// the event before (prev_hash), the stored hash, and the event key's signature on state-changing
// events. The serial verifier walks the whole chain with one ChainWalk; the parallel one gives
// each worker a chunk and a ChainWalk that starts where the chunk before it ends (the seam).
import { hash as digest } from 'node:crypto';
import { SIGNED_EVENT_TYPES, signatureProblem, type EventKeys } from './event-key.ts';
import { storedEventInput } from './verify-event-hash.ts';

/** seq, type, request_id, actor, payload, occurred_at (epoch ms), prev_hash, hash, signature */
export type EventRow = [
  string,
  string,
  string | null,
  string,
  unknown,
  string,
  string,
  string,
  string | null,
];

export type ChainProblem =
  | 'hash_mismatch'
  | 'broken_link'
  | 'sequence_gap'
  | 'head_mismatch'
  /** A state-changing event without a valid signature of the server's event key: not written by the server. */
  | 'bad_signature'
  /** A request's rows (status, decisions) disagree with its events in an intact chain. */
  | 'request_mismatch';

/** The first bad event, and how many were verified before it. */
export interface ChainBreak {
  events: number;
  firstBadSeq: string;
  problem: ChainProblem;
  detail: string;
}

export interface WalkStart {
  /** The seq the walk must start at. */
  startSeq: string;
  /** The prev_hash its first event must have. */
  prevHash: string;
  /** A stretch from a checkpoint rather than the chain from seq 1 (only the wording differs). */
  ranged: boolean;
}

/** Where a walk stands after an event: what the next one is checked against. */
export interface WalkState {
  previousSeq: string | null;
  previousHash: string;
  firstSeq: string | null;
  events: number;
}

export class ChainWalk {
  previousHash: string;
  previousSeq: string | null = null;
  firstSeq: string | null = null;
  events = 0;
  problem: ChainBreak | null = null;
  private previousSeqNumber = 0;

  constructor(
    private readonly keys: EventKeys,
    private readonly start: WalkStart,
    state?: WalkState,
  ) {
    this.previousHash = start.prevHash;
    if (state) this.resume(state);
  }

  /** Continues from `state`, as if the events up to state.previousSeq had been walked. */
  resume(state: WalkState): void {
    this.previousHash = state.previousHash;
    this.previousSeq = state.previousSeq;
    this.previousSeqNumber = state.previousSeq === null ? 0 : Number(state.previousSeq);
    this.firstSeq = state.firstSeq;
    this.events = state.events;
  }

  get state(): WalkState {
    return {
      previousSeq: this.previousSeq,
      previousHash: this.previousHash,
      firstSeq: this.firstSeq,
      events: this.events,
    };
  }

  private broken(seq: string, problem: ChainProblem, detail: string): false {
    this.problem = { events: this.events, firstBadSeq: seq, problem, detail };
    return false;
  }

  /** Checks the next event; false (and `problem` set) at the first bad one. */
  check([seq, type, requestId, actor, payload, occurredAtMs, prevHash, hash, signature]: EventRow): boolean {
    const { startSeq, ranged } = this.start;
    if (this.firstSeq === null && seq !== startSeq) {
      return this.broken(
        seq,
        'sequence_gap',
        ranged
          ? `the stretch starts at event ${seq}, not ${startSeq}: events ${startSeq}–${BigInt(seq) - 1n} were deleted`
          : `the chain starts at event ${seq}, not 1: events 1–${BigInt(seq) - 1n} were deleted`,
      );
    }
    this.firstSeq ??= seq;
    const previousSeq = this.previousSeq;
    // Numbers while they are exact (below 2^53, which no chain reaches); BigInt otherwise.
    const seqNumber = Number(seq);
    const consecutive =
      previousSeq === null ||
      (Number.isSafeInteger(seqNumber)
        ? seqNumber === this.previousSeqNumber + 1
        : BigInt(seq) === BigInt(previousSeq) + 1n);
    if (!consecutive && previousSeq !== null) {
      return this.broken(
        seq,
        'sequence_gap',
        `events ${BigInt(previousSeq) + 1n}–${BigInt(seq) - 1n} are missing: they were deleted`,
      );
    }
    if (prevHash !== this.previousHash) {
      return this.broken(
        seq,
        'broken_link',
        previousSeq === null
          ? ranged
            ? `prev_hash of event ${seq} is not the hash the checkpoint signed for the event before it: an event was removed, inserted or changed here`
            : `the first event does not start the chain: an earlier event was removed or this one was inserted`
          : `prev_hash does not match the hash of event ${previousSeq}: an event was removed, inserted or reordered here`,
      );
    }
    const input = storedEventInput({
      type,
      requestId,
      actor,
      payload,
      occurredAt: new Date(Number(occurredAtMs)).toISOString(),
    });
    if (digest('sha256', this.previousHash + input, 'hex') !== hash) {
      return this.broken(
        seq,
        'hash_mismatch',
        'the stored hash does not match the event: its contents were changed after it was written',
      );
    }
    if (SIGNED_EVENT_TYPES.has(type) && BigInt(seq) >= this.keys.signedFrom) {
      const why = signatureProblem(this.keys, input, signature);
      if (why)
        return this.broken(
          seq,
          'bad_signature',
          `event ${seq} (${type}) is not the server's: ${why}; it was appended past the service`,
        );
    }
    this.previousHash = hash;
    this.previousSeq = seq;
    this.previousSeqNumber = seqNumber;
    this.events += 1;
    return true;
  }
}

/**
 * A stretch of the chain to verify instead of all of it: from `fromSeq`, whose prev_hash must be
 * `prevHash` (a hash vouched for otherwise, e.g. by a signed checkpoint), through `throughSeq`.
 * After it only the link to the next event is checked (its seq and prev_hash), or the head when
 * `throughSeq` is the last event: removing the stretch's last events still shows.
 */
export interface ChainRange {
  fromSeq: string;
  prevHash: string;
  throughSeq: string;
}
