// Appends one event to the hash-chained audit log inside the caller's transaction:
// hash = SHA-256(prevHash ‖ canonical JSON of the event). A transaction-scoped advisory lock
// orders appenders, so sequence numbers and the chain agree; it is held only until the
// surrounding transaction commits.
import { createHash } from 'node:crypto';
import type { Prisma } from '../db/client.ts';
import { canonicalJson } from '../approvals/canonical-json.ts';
import type { AuditEventInput } from './event-types.ts';

/** Arbitrary constant naming the audit-append lock among the database's advisory locks. */
const AUDIT_APPEND_LOCK_KEY = 4_176_221_901;
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedEventFields {
  seq: bigint;
  type: string;
  requestId: string | null;
  actor: string;
  payload: unknown;
  occurredAt: Date;
}

/** The canonical bytes an event's hash covers (besides the previous hash). */
export function eventDigestInput(event: ChainedEventFields): string {
  return canonicalJson({
    seq: event.seq.toString(),
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

export async function appendAuditEvent(
  tx: Prisma.TransactionClient,
  event: AuditEventInput,
  now: Date,
): Promise<bigint> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_APPEND_LOCK_KEY}::bigint)`;
  const last = await tx.auditEvent.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true, hash: true } });
  const [next] = await tx.$queryRaw<
    { seq: bigint }[]
  >`SELECT nextval(pg_get_serial_sequence('audit_events', 'seq')) AS seq`;
  if (!next) throw new Error('audit sequence returned no value');
  // Milliseconds only: the column keeps three fractional digits, and the hash must match what is read back.
  const occurredAt = new Date(Math.floor(now.getTime()));
  const fields: ChainedEventFields = {
    seq: next.seq,
    type: event.type,
    requestId: event.requestId ?? null,
    actor: event.actor,
    payload: event.payload,
    occurredAt,
  };
  const prevHash = last?.hash ?? GENESIS_HASH;
  await tx.auditEvent.create({
    data: {
      seq: next.seq,
      type: event.type,
      requestId: fields.requestId,
      actor: event.actor,
      payload: event.payload,
      occurredAt,
      prevHash,
      hash: chainHash(prevHash, fields),
    },
  });
  return next.seq;
}
