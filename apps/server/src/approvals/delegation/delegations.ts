// Delegation while away: until `until`, the delegate may decide wherever the delegator is eligible
// (approvals/delegation/find-delegated-eligibility.ts). Added, removed and expired delegations are
// audited; the expiry is a job due at `until`, queued in the transaction that adds the delegation.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendAuditEvents } from '../../audit/append-event.ts';
import { inTransaction } from '../../db/transaction.ts';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import type { Delegation } from '../../generated/prisma/client.ts';
import { DELEGATION_EXPIRY_QUEUE } from '../../jobs/job-queue.ts';
import { isUuid } from '../find-request.ts';
import { maskCredentialsInText } from '../masking.ts';
import { refuseTooLongText } from '../text-limits.ts';
import {
  findDelegation,
  insertDelegation,
  listActiveDelegationEdges,
  lockDelegationAdding,
  markDelegationRemoved,
  markExpiryRecorded,
} from './delegation-store.ts';

export interface AddDelegationInput {
  from: string;
  to: string;
  until: Date;
  reason?: string | null | undefined;
  /** Who set it up: `cli`, `client:<id>`, or the signed-in person's email. */
  actor: string;
}

export type DelegationDeps = Pick<Deps, 'db' | 'clock' | 'jobs' | 'events'>;

/** A delegation lasts at most this long: a mistyped year must not hand over decisions for decades. */
export const MAX_DELEGATION_DAYS = 366;
const DAY_MS = 86_400_000;

const auditPayload = (d: Delegation) => ({
  delegationId: d.id,
  from: d.fromEmail,
  to: d.toEmail,
  until: d.until.toISOString(),
  reason: d.reason,
});

export async function addDelegation(deps: DelegationDeps, input: AddDelegationInput): Promise<Delegation> {
  const from = input.from.trim().toLowerCase();
  const to = input.to.trim().toLowerCase();
  refuseTooLongText('reason', input.reason ?? undefined);
  const now = deps.clock.now();
  if (from === to) {
    throw new AppError('DELEGATION_REFUSED', {
      detail: `${from} cannot delegate to themselves`,
      errors: [{ pointer: '/to', message: 'is the delegator' }],
    });
  }
  if (input.until.getTime() <= now.getTime()) {
    throw new AppError('VALIDATION_FAILED', {
      detail: `until (${input.until.toISOString()}) is not in the future`,
      errors: [{ pointer: '/until', message: 'must be in the future' }],
    });
  }
  if (input.until.getTime() > now.getTime() + MAX_DELEGATION_DAYS * DAY_MS) {
    throw new AppError('VALIDATION_FAILED', {
      detail: `until (${input.until.toISOString()}) is more than ${MAX_DELEGATION_DAYS} days away; a delegation lasts at most that long, and a new one can follow it`,
      errors: [{ pointer: '/until', message: `must be within ${MAX_DELEGATION_DAYS} days` }],
    });
  }
  return inTransaction(deps.db, async (tx) => {
    // Delegations are added one at a time, so the loop check below sees every earlier one.
    await lockDelegationAdding(tx);
    const active = await listActiveDelegationEdges(tx, now);
    // A loop (from already acts for to, directly or through others) would let a chain come back.
    const reaches = new Set([to]);
    for (let grew = true; grew;) {
      grew = false;
      for (const d of active) {
        if (reaches.has(d.fromEmail) && !reaches.has(d.toEmail)) {
          reaches.add(d.toEmail);
          grew = true;
        }
      }
    }
    if (reaches.has(from)) {
      throw new AppError('DELEGATION_REFUSED', {
        detail: `${from} already acts for ${to} through active delegations: this one would close a loop`,
        errors: [{ pointer: '/to', message: 'already delegates to the delegator' }],
      });
    }
    const delegation = await insertDelegation(tx, {
      id: randomUUID(),
      fromEmail: from,
      toEmail: to,
      until: input.until,
      reason: input.reason ? maskCredentialsInText(input.reason) : null,
      createdBy: input.actor,
      createdAt: now,
    });
    const seconds = Math.max(1, Math.ceil((input.until.getTime() - now.getTime()) / 1000));
    await deps.jobs.send(
      tx,
      DELEGATION_EXPIRY_QUEUE,
      { delegationId: delegation.id },
      { startAfterSeconds: seconds },
    );
    await appendAuditEvents(
      tx,
      [{ type: 'delegation.created', actor: input.actor, payload: auditPayload(delegation) }],
      now,
      deps.events,
    );
    return delegation;
  });
}

export async function listDelegations(
  deps: Pick<Deps, 'db' | 'clock'>,
  filter: { email?: string | undefined; includeEnded?: boolean } = {},
): Promise<Delegation[]> {
  const now = deps.clock.now();
  const email = filter.email?.toLowerCase();
  return deps.db.prisma.delegation.findMany({
    where: {
      ...(filter.includeEnded ? {} : { removedAt: null, until: { gt: now } }),
      ...(email ? { OR: [{ fromEmail: email }, { toEmail: email }] } : {}),
    },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
}

/** Ends a delegation now. `onlyFor`: the person removing it must be its delegator (console). */
export async function removeDelegation(
  deps: DelegationDeps,
  id: string,
  actor: string,
  onlyFor?: string,
): Promise<Delegation> {
  const now = deps.clock.now();
  return inTransaction(deps.db, async (tx) => {
    const found = isUuid(id) ? await findDelegation(tx, id) : undefined;
    if (!found || (onlyFor !== undefined && found.fromEmail !== onlyFor.toLowerCase()))
      throw new AppError('NOT_FOUND', { detail: `no delegation with id ${id}` });
    if (!(await markDelegationRemoved(tx, id, now, actor))) return found;
    const removed = { ...found, removedAt: now, removedBy: actor };
    await appendAuditEvents(
      tx,
      [{ type: 'delegation.removed', actor, payload: auditPayload(removed) }],
      now,
      deps.events,
    );
    return removed;
  });
}

/** The delegation reached its `until`: its expiry is audited, once (not for one removed before). */
export async function recordDelegationExpiry(deps: Deps, id: string): Promise<boolean> {
  const now = deps.clock.now();
  return inTransaction(deps.db, async (tx) => {
    const delegation = await markExpiryRecorded(tx, id, now);
    if (!delegation) return false;
    await appendAuditEvents(
      tx,
      [{ type: 'delegation.expired', actor: 'countersign', payload: auditPayload(delegation) }],
      now,
      deps.events,
    );
    return true;
  });
}

const jobData = z.object({ delegationId: z.uuid() });

export async function startDelegationWorkers(deps: Deps): Promise<void> {
  await deps.jobs.work(DELEGATION_EXPIRY_QUEUE, 1, async (job) => {
    const parsed = jobData.safeParse(job.data);
    if (!parsed.success) {
      deps.log.error({ jobId: job.id }, 'delegation expiry job without a valid id: dropped');
      return;
    }
    await recordDelegationExpiry(deps, parsed.data.delegationId);
  });
}
