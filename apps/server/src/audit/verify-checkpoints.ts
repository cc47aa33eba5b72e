// Holds the chain to checkpoints kept outside the database: each must carry a valid signature of
// the receipt key, and the chain must still have the signed hash at the signed seq. A chain that
// was rewritten and recomputed consistently passes verifyChain but fails here.
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { CHECKPOINT_TYPE, RECEIPT_ALG } from '../receipts/sign-receipt.ts';
import { GENESIS_HASH } from './append-event.ts';
import {
  findEventSignedByOtherKey,
  readCheckpointEvents,
  readEventHash,
  type VerifyDb,
} from './chain-verify-store.ts';

/** One line of `countersign audit checkpoint export`; only the signed `jws` is trusted. */
export const exportedCheckpointSchema = z.object({
  seq: z.string(),
  hash: z.string(),
  at: z.string(),
  eventKeys: z.array(z.string()).optional(),
  kid: z.string(),
  jws: z.string(),
  eventSeq: z.string().optional(),
});
export type ExportedCheckpoint = z.infer<typeof exportedCheckpointSchema>;

const signedSchema = z.strictObject({
  seq: z.string().regex(/^\d+$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string(),
  eventKeys: z.array(z.string()).optional(),
});

/** What a checkpoint's signature covers. */
export type SignedCheckpoint = z.infer<typeof signedSchema>;

/** The statement a checkpoint's JWS signs, when it verifies against `keys`; throws otherwise. */
export async function verifyCheckpointSignature(
  jws: string,
  keys: ReturnType<typeof createLocalJWKSet>,
): Promise<SignedCheckpoint> {
  const verified = await compactVerify(jws, keys, { algorithms: [RECEIPT_ALG] });
  if (verified.protectedHeader.typ !== CHECKPOINT_TYPE)
    throw new Error(`typ ${verified.protectedHeader.typ}`);
  return signedSchema.parse(JSON.parse(new TextDecoder().decode(verified.payload)));
}

export type CheckpointProblem =
  | 'unreadable'
  | 'bad_signature'
  | 'missing_event'
  | 'hash_differs'
  /** An event up to the checkpoint's seq is signed by an event key the checkpoint did not pin. */
  | 'unpinned_event_key';

export type CheckpointResult =
  | { ok: true; checked: number; lastSeq: string | null }
  | {
      ok: false;
      checked: number;
      line: number;
      seq: string | null;
      problem: CheckpointProblem;
      detail: string;
    };

/** Lists the checkpoints stored in the chain, oldest first, as export lines. */
export async function listCheckpoints(db: VerifyDb): Promise<ExportedCheckpoint[]> {
  const rows = await readCheckpointEvents(db);
  return rows.map((row) => ({
    ...exportedCheckpointSchema.omit({ eventSeq: true }).parse(row.payload),
    eventSeq: row.event_seq,
  }));
}

/** Checks every line (JSON lines, blank lines ignored) against `jwks` and the chain in `db`. */
export async function verifyCheckpoints(
  db: VerifyDb,
  text: string,
  jwks: JSONWebKeySet,
): Promise<CheckpointResult> {
  const keys = createLocalJWKSet(jwks);
  let checked = 0;
  let lastSeq: string | null = null;
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    if (raw.trim() === '') continue;
    const line = index + 1;
    let jws: string;
    try {
      jws = exportedCheckpointSchema.parse(JSON.parse(raw)).jws;
    } catch {
      return {
        ok: false,
        checked,
        line,
        seq: null,
        problem: 'unreadable',
        detail: `line ${line} is not a checkpoint`,
      };
    }
    let statement: SignedCheckpoint;
    try {
      statement = await verifyCheckpointSignature(jws, keys);
    } catch (error) {
      return {
        ok: false,
        checked,
        line,
        seq: null,
        problem: 'bad_signature',
        detail: `line ${line}: the signature does not verify against the receipt key (${error instanceof Error ? error.message : String(error)})`,
      };
    }
    const stored = statement.seq === '0' ? GENESIS_HASH : await readEventHash(db, statement.seq);
    if (stored === undefined) {
      return {
        ok: false,
        checked,
        line,
        seq: statement.seq,
        problem: 'missing_event',
        detail: `the checkpoint signed at ${statement.at} covers event ${statement.seq}, which the chain no longer has: events were removed`,
      };
    }
    if (stored !== statement.hash) {
      return {
        ok: false,
        checked,
        line,
        seq: statement.seq,
        problem: 'hash_differs',
        detail: `the checkpoint signed at ${statement.at} says event ${statement.seq} has hash ${statement.hash}, the chain now has ${stored}: the chain up to ${statement.seq} was rewritten`,
      };
    }
    if (statement.eventKeys) {
      const first = await findEventSignedByOtherKey(db, statement.seq, statement.eventKeys);
      if (first) {
        return {
          ok: false,
          checked,
          line,
          seq: first.seq,
          problem: 'unpinned_event_key',
          detail: `event ${first.seq} is signed by event key ${first.kid}, which the checkpoint signed at ${statement.at} (seq ${statement.seq}) does not pin: it was signed with a key registered later`,
        };
      }
    }
    checked += 1;
    lastSeq = statement.seq;
  }
  return { ok: true, checked, lastSeq };
}
