// Signed checkpoints: the chain head (seq, hash, time) signed with the receipt key and appended
// to the chain itself. Exported and kept elsewhere, they let anyone show later that the chain up
// to that seq was not rewritten, even by a superuser who recomputes every hash and the head
// (the way transparency logs hold their operator to its history).
import { decodeProtectedHeader } from 'jose';
import type { Database } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
import type { Logger } from '../observability/logger.ts';
import type { CheckpointStatement, ReceiptSigner } from '../receipts/sign-receipt.ts';
import { chainBatchJson } from './append-event.ts';
import { appendCheckpointBatch, readEventKeyRows, readHeadForCheckpoint } from './chain-store.ts';
import { eventKeysFrom } from './event-key.ts';

export interface Checkpoint extends CheckpointStatement {
  kid: string;
  jws: string;
}

export interface CreateCheckpointInput {
  actor: string;
  /** For the periodic run: no new checkpoint when the newest event is already one. */
  skipIfUnchanged?: boolean;
}

/** What a checkpoint needs: the same fields as in Deps, named here so the audit trail does not import the core's wiring. */
export interface CheckpointDeps {
  db: Database;
  clock: { now(): Date };
  receipts: ReceiptSigner;
}

/** An event landed between the head read and the checkpoint's own append: sign the new head. */
class HeadMoved extends Error {
  override name = 'HeadMoved';
}

const HEAD_ATTEMPTS = 5;

/**
 * Signs the current head and appends it as an audit.checkpoint event; null when skipped. The head
 * is read without the chain lock (the runtime role may not lock it), so the append checks that
 * the checkpoint landed right after the head it signed, and signs again when another event came
 * first: a checkpoint always signs the event just before it.
 */
export async function createCheckpoint(
  deps: CheckpointDeps,
  input: CreateCheckpointInput,
): Promise<Checkpoint | null> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await signHead(deps, input);
    } catch (error) {
      if (!(error instanceof HeadMoved) || attempt >= HEAD_ATTEMPTS) throw error;
    }
  }
}

function signHead(deps: CheckpointDeps, input: CreateCheckpointInput): Promise<Checkpoint | null> {
  return inTransaction(deps.db, async (tx) => {
    const head = await readHeadForCheckpoint(tx);
    if (!head) throw new Error('the audit chain head record is missing');
    if (input.skipIfUnchanged && (head.seq === '0' || head.last_type === 'audit.checkpoint')) return null;
    const now = deps.clock.now();
    // Pins the event keys registered now: no key added later can have signed an event up to seq.
    const { keyRows, signingRows } = await readEventKeyRows(tx);
    const keys = eventKeysFrom(keyRows, signingRows[0]);
    const statement: CheckpointStatement = {
      seq: head.seq,
      hash: head.hash,
      at: now.toISOString(),
      eventKeys: [...keys.keys.keys()].sort(),
    };
    const jws = await deps.receipts.signCheckpoint(statement);
    const kid = String(decodeProtectedHeader(jws).kid);
    const batch = chainBatchJson(
      [{ type: 'audit.checkpoint', actor: input.actor, payload: { ...statement, kid, jws } }],
      now,
    );
    const appended = await appendCheckpointBatch(tx, batch);
    if (appended !== String(BigInt(head.seq) + 1n)) throw new HeadMoved(`head moved past ${head.seq}`);
    return { ...statement, kid, jws };
  });
}

export interface CheckpointTimer {
  stop(): Promise<void>;
}

/** Every `intervalMinutes` (0: never), a checkpoint unless nothing was appended since the last. */
export function startCheckpointTimer(
  deps: CheckpointDeps & { log: Logger },
  intervalMinutes: number,
): CheckpointTimer {
  if (intervalMinutes <= 0) return { stop: () => Promise.resolve() };
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= createCheckpoint(deps, { actor: 'system:checkpoint', skipIfUnchanged: true })
      .then((checkpoint) => {
        if (checkpoint)
          deps.log.info({ seq: checkpoint.seq, hash: checkpoint.hash }, 'audit checkpoint signed');
      })
      .catch((error: unknown) =>
        deps.log.warn({ err: error }, 'audit checkpoint failed; trying again next time'),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, Math.max(1, Math.round(intervalMinutes * 60_000)));
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
