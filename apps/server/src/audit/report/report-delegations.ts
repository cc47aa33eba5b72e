// The report's delegations: every delegation event of the period from the chain (created, used,
// removed, expired), who for whom, until when and why. Like the administrative actions they are
// the deployment's, not a request's, so the action and requester filters do not narrow them.
import { z } from 'zod';
import type { ReportPeriod } from './report-period.ts';
import { eventsOfTypesInPeriod } from './report-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

export const DELEGATION_EVENT_TYPES = [
  'delegation.created',
  'delegation.used',
  'delegation.removed',
  'delegation.expired',
] as const;

export interface ReportDelegationEvent {
  seq: string;
  at: string;
  event: 'created' | 'used' | 'removed' | 'expired';
  /** The approver who is away. */
  from: string;
  /** Who decides in their place. */
  to: string;
  /** Null for a use (its event names the request and the verdict instead). */
  until: string | null;
  reason: string | null;
  actor: string;
  requestId: string | null;
  verdict: 'approve' | 'deny' | null;
}

const payloadSchema = z.object({
  from: z.string(),
  to: z.string(),
  until: z.string().optional(),
  reason: z.string().nullable().optional(),
  verdict: z.enum(['approve', 'deny']).optional(),
});

export async function delegationEvents(
  db: ReadSnapshot,
  period: ReportPeriod,
): Promise<ReportDelegationEvent[]> {
  const rows = await eventsOfTypesInPeriod(db, period, DELEGATION_EVENT_TYPES);
  return rows.map((row) => {
    const parsed = payloadSchema.safeParse(row.payload);
    if (!parsed.success) throw new Error(`the ${row.type} event at seq ${row.seq} has an unreadable payload`);
    const p = parsed.data;
    return {
      seq: row.seq,
      at: row.occurred_at.toISOString(),
      event: row.type.slice('delegation.'.length) as ReportDelegationEvent['event'],
      from: p.from,
      to: p.to,
      until: p.until ?? null,
      reason: p.reason ?? null,
      actor: row.actor,
      requestId: row.request_id,
      verdict: p.verdict ?? null,
    };
  });
}
