// A delegation as the API takes and returns it (routes/delegations.ts, the CLI's `delegates`).
import { z } from 'zod';
import { limitedText } from './limited-text.ts';

/** The stored row's fields this presenter reads. */
interface DelegationRow {
  id: string;
  fromEmail: string;
  toEmail: string;
  until: Date;
  reason: string | null;
  createdBy: string;
  createdAt: Date;
  removedAt: Date | null;
}

export const delegationSchema = z
  .object({
    id: z.uuid(),
    from: z.string(),
    to: z.string(),
    until: z.iso.datetime(),
    reason: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
    removedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Delegation' });

export function presentDelegation(d: DelegationRow): z.infer<typeof delegationSchema> {
  return {
    id: d.id,
    from: d.fromEmail,
    to: d.toEmail,
    until: d.until.toISOString(),
    reason: d.reason,
    createdBy: d.createdBy,
    createdAt: d.createdAt.toISOString(),
    removedAt: d.removedAt?.toISOString() ?? null,
  };
}

export const createDelegationBody = z
  .strictObject({
    from: z.email().max(320).meta({ description: 'the approver who is away' }),
    to: z.email().max(320).meta({ description: 'who decides in their place' }),
    until: z.union([z.iso.datetime({ offset: true }), z.iso.date()]).meta({
      description: 'when the delegation ends: an instant, or a date (the end of that day, UTC)',
    }),
    reason: limitedText('reason').optional(),
  })
  .meta({ id: 'CreateDelegation' });

/** A bare date means "through that day": the delegation ends at the next midnight UTC. */
export function untilOf(value: string): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(Date.parse(`${value}T00:00:00Z`) + 86_400_000);
  return new Date(value);
}
