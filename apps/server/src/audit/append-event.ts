// The hash-chained audit log: hash = SHA-256(prevHash ‖ canonical JSON of the event), where the
// event is {type, requestId, actor, payload, occurredAt} and prevHash is the previous event's hash
// (64 zeros for the first). Order is bound by the links; seq is a gapless locator.
import { createHash } from 'node:crypto';
import type { Transaction } from '../db/transaction.ts';
import { appendChainBatch, appendChainBatchAndCommit, appendChainBatchStatement } from './chain-store.ts';
import { canonicalJson } from './canonical-json.ts';
import type { ChainEventInput } from './event-types.ts';
import { SIGNED_EVENT_TYPES, type EventSigner } from './event-key.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedEventFields {
  type: string;
  requestId: string | null;
  actor: string;
  payload: unknown;
  occurredAt: Date;
}

/** The canonical bytes an event's hash covers, after the previous hash. */
export function eventDigestInput(event: ChainedEventFields): string {
  return canonicalJson({
    type: event.type,
    requestId: event.requestId,
    actor: event.actor,
    payload: event.payload,
    occurredAt: event.occurredAt.toISOString(),
  });
}

export function chainHash(prevHash: string, event: ChainedEventFields): string {
  return createHash('sha256').update(prevHash).update(eventDigestInput(event)).digest('hex');
}

/**
 * The argument of countersign_append_audit_events: each event with the canonical JSON its hash
 * covers. For a caller that appends within a statement of its own (the intake's single statement).
 */
export function chainBatchJson(events: readonly ChainEventInput[], now: Date, signer?: EventSigner): string {
  // Milliseconds only: the column keeps three fractional digits, and the hash must match what is read back.
  const occurredAt = new Date(Math.floor(now.getTime()));
  const batch = events.map((event) => {
    const fields: ChainedEventFields = {
      type: event.type,
      requestId: event.requestId ?? null,
      actor: event.actor,
      payload: event.payload,
      occurredAt,
    };
    const canonical = eventDigestInput(fields);
    if (!SIGNED_EVENT_TYPES.has(event.type))
      return { ...fields, occurredAt: occurredAt.toISOString(), canonical };
    // A state change without the server's signature would be indistinguishable from a forgery.
    if (!signer) throw new Error(`a ${event.type} event must be signed: pass the event signer`);
    return { ...fields, occurredAt: occurredAt.toISOString(), canonical, signature: signer.sign(canonical) };
  });
  return JSON.stringify(batch);
}

/**
 * Appends events to the chain inside the caller's transaction, in one round trip (the database
 * function countersign_append_audit_events takes the chain lock, links and inserts). Call it once,
 * as the transaction's last step, so the lock is held only for this call and the commit.
 * Sequence numbers are gapless, so a missing number is itself evidence.
 */
export async function appendAuditEvents(
  tx: Transaction,
  events: readonly ChainEventInput[],
  now: Date,
  signer?: EventSigner,
): Promise<void> {
  if (events.length === 0) return;
  await appendChainBatch(tx, chainBatchJson(events, now, signer));
}

/**
 * The transaction's last step on node-postgres: appends the events and commits in the same round
 * trip, so the chain lock is held for the database's own work only (not for the answer's way back
 * to a busy event loop and the COMMIT's way there). Writers of the hot paths (intake, decisions)
 * use it; the bench `append` shows what it is worth.
 */
export async function appendAuditEventsAndCommit(
  tx: Transaction,
  events: readonly ChainEventInput[],
  now: Date,
  signer?: EventSigner,
): Promise<void> {
  if (events.length === 0) return;
  await appendChainBatchAndCommit(tx, chainBatchJson(events, now, signer));
}

/**
 * The statement that appends `events` (null when there are none), for a store that sends it with
 * others and the COMMIT in one round trip (`Transaction.batch`), as the transaction's last step.
 */
export function auditAppendStatement(
  tx: Transaction,
  events: readonly ChainEventInput[],
  now: Date,
  signer?: EventSigner,
): string | null {
  if (events.length === 0) return null;
  return appendChainBatchStatement(tx, chainBatchJson(events, now, signer));
}

export function appendAuditEvent(
  tx: Transaction,
  event: ChainEventInput,
  now: Date,
  signer?: EventSigner,
): Promise<void> {
  return appendAuditEvents(tx, [event], now, signer);
}
