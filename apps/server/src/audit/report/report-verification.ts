// What a report verifies: the chain from the last signed checkpoint at or before its period (the
// checkpoint's signature vouching for everything before it) through the period's last event and
// the link after it, and the rows of the period's requests; or, without a usable checkpoint, the
// whole chain and every request, as `countersign audit verify` does. Its cost then follows the
// period and the checkpoint interval, not the age of the chain.
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { GENESIS_HASH } from '../append-event.ts';
import { verifyChainInSnapshot, type VerifyResult } from '../verify-chain.ts';
import { exportedCheckpointSchema, verifyCheckpointSignature } from '../verify-checkpoints.ts';
import type { ReportPeriod } from './report-period.ts';
import { checkpointAtOrBefore, hashOfEvent, lastSeqBefore, periodSeqRange } from './report-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

/** The signed checkpoint a report's verification started from. */
export interface ReportCheckpoint {
  /** The audit.checkpoint event. */
  eventSeq: string;
  /** The event it signs, and that event's hash. */
  seq: string;
  hash: string;
  at: string;
  kid: string;
}

export interface ReportVerificationScope {
  /** Null: the walk started at seq 1 (the whole chain). */
  checkpoint: ReportCheckpoint | null;
  /** Why no checkpoint was used, when none was. */
  fullBecause?: string;
  /** The last event hashed; after it only the link to the next event or the head was checked. Null: through the head. */
  throughSeq: string | null;
  /** Whose request rows were compared with the chain: the period's requests, or all of them. */
  requests: 'period' | 'all';
}

export interface ReportVerification {
  verification: VerifyResult;
  scope: ReportVerificationScope;
}

type Plan =
  | { kind: 'full'; because: string }
  | { kind: 'failed'; checkpoint: ReportCheckpoint; result: VerifyResult }
  | { kind: 'range'; checkpoint: ReportCheckpoint; throughSeq: string };

/**
 * Verifies what the report over `period` rests on, in the snapshot `client` holds. `keys`: the
 * receipt public keys checkpoints are signed with; without them every report verifies the whole chain.
 */
export async function verifyForReport(
  client: ReadSnapshot,
  period: ReportPeriod,
  keys: JSONWebKeySet | undefined,
): Promise<ReportVerification> {
  const plan = await planVerification(client, period, keys);
  if (plan.kind === 'full') {
    return {
      verification: await verifyChainInSnapshot(client),
      scope: { checkpoint: null, fullBecause: plan.because, throughSeq: null, requests: 'all' },
    };
  }
  const scope = {
    checkpoint: plan.checkpoint,
    throughSeq: plan.kind === 'range' ? plan.throughSeq : null,
    requests: 'period' as const,
  };
  if (plan.kind === 'failed') return { verification: plan.result, scope };
  const verification = await verifyChainInSnapshot(client, {
    range: { fromSeq: plan.checkpoint.eventSeq, prevHash: plan.checkpoint.hash, throughSeq: plan.throughSeq },
    requestScope: period,
  });
  return { verification, scope };
}

async function planVerification(
  client: ReadSnapshot,
  period: ReportPeriod,
  keys: JSONWebKeySet | undefined,
): Promise<Plan> {
  if (!keys || keys.keys.length === 0)
    return { kind: 'full', because: 'no receipt key to check a checkpoint with' };
  // The period's events by occurred_at (its index), and the last event before its end when it has none.
  let { first, last } = await periodSeqRange(client, period);
  if (first === null || last === null) first = last = await lastSeqBefore(client, period.from);
  if (first === null || last === null) return { kind: 'full', because: 'no events up to the period' };
  const row = await checkpointAtOrBefore(client, first);
  if (!row) return { kind: 'full', because: 'no signed checkpoint at or before the period' };
  const exported = exportedCheckpointSchema.safeParse(row.payload);
  if (!exported.success) return { kind: 'full', because: `the checkpoint at seq ${row.seq} is unreadable` };
  let signed;
  try {
    signed = await verifyCheckpointSignature(exported.data.jws, createLocalJWKSet(keys));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      kind: 'full',
      because: `the checkpoint at seq ${row.seq} does not verify against the receipt key (${why})`,
    };
  }
  // createCheckpoint appends a checkpoint right after the head it signs.
  if (BigInt(signed.seq) + 1n !== BigInt(row.seq))
    return {
      kind: 'full',
      because: `the checkpoint at seq ${row.seq} signs event ${signed.seq}, not the one before it`,
    };
  const checkpoint: ReportCheckpoint = {
    eventSeq: row.seq,
    seq: signed.seq,
    hash: signed.hash,
    at: signed.at,
    kid: exported.data.kid,
  };
  // The signed event must still have the signed hash: a chain rewritten before the checkpoint shows here.
  const stored = signed.seq === '0' ? GENESIS_HASH : await hashOfEvent(client, signed.seq);
  if (stored !== signed.hash) {
    return {
      kind: 'failed',
      checkpoint,
      result: {
        intact: false,
        events: 0,
        firstBadSeq: signed.seq,
        problem: stored === undefined ? 'sequence_gap' : 'hash_mismatch',
        detail:
          stored === undefined
            ? `event ${signed.seq}, which the checkpoint signed at ${signed.at} covers, is gone: events were removed`
            : `event ${signed.seq} no longer has the hash the checkpoint signed at ${signed.at} records: the chain up to it was rewritten`,
      },
    };
  }
  const through = BigInt(last) > BigInt(row.seq) ? last : row.seq;
  return { kind: 'range', checkpoint, throughSeq: through };
}
