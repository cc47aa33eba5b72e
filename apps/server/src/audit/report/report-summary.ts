// The report's summary: counts accumulated while the rows stream past, refused attempts counted
// from the audit log, and the chain verification with the period's first and last event.
import { z } from 'zod';
import {
  ADMIN_EVENT_TYPES,
  EXECUTION_REFUSAL_REASONS,
  REFUSAL_REASONS,
  type ExecutionRefusalReason,
  type RefusalReason,
} from '../event-types.ts';
import type { VerifyResult } from '../verify-chain.ts';
import { grantsSection, type ReportGrantsSection } from './report-grants-section.ts';
import type { ReportPeriod } from './report-period.ts';
import type { ReportVerification, ReportVerificationScope } from './report-verification.ts';
import type { ReportRow } from './report-rows.ts';
import type { ReportFilters } from './report-rows-store.ts';
import {
  checkpointCountInPeriod,
  decisionsAfterDeprovisioningCount,
  decisionTimes,
  eventCountsByType,
  eventOccurredAtOrAfter,
  latestCheckpointBefore,
  periodEdgeEvent,
  policiesLoadedIn,
  refusalCountsByReason,
} from './report-summary-store.ts';
import { breakGlassUses, type ReportBreakGlassUse } from './report-break-glass.ts';
import { delegationEvents, type ReportDelegationEvent } from './report-delegations.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

export const DIRECTORY_EVENT_TYPES = [
  'directory.user.created',
  'directory.user.deactivated',
  'directory.user.reactivated',
  'directory.user.removed',
  'directory.group.created',
  'directory.group.removed',
  'directory.group.renamed',
  'directory.member.added',
  'directory.member.removed',
] as const;

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
const TOP_ACTIONS = 5;

export interface ChainEventRef {
  seq: string;
  hash: string;
  occurredAt: string;
}

export interface ReportSummary {
  requests: number;
  byStatus: Record<(typeof STATUSES)[number], number>;
  /** Decisions recorded on the period's requests, by verdict; autoApproved counts policy approvals. */
  byVerdict: { approve: number; deny: number; autoApproved: number };
  refusedByReason: Record<RefusalReason, number>;
  expiries: number;
  /** Over approved and denied requests; nearest-rank percentiles, in seconds. */
  timeToDecision: { decided: number; medianSeconds: number | null; p95Seconds: number | null };
  topActions: { action: string; count: number }[];
  /** Executions recorded through POST /v1/approvals/{id}/execution. */
  executions: {
    /** Approved requests of the period nobody recorded as executed. */
    approvedNeverExecuted: number;
    /** Refused execution attempts in the period (not approved, wrong digest, second start, …). */
    refusedAttempts: number;
    /** Of those, attempts to start an execution a second time. */
    secondStartAttempts: number;
    /** Requests of the period an executor started (with the approved payload's digest). */
    executed: number;
    /** Refused execution attempts in the period, by reason (digest_mismatch: not what was approved). */
    refusedByReason: Record<ExecutionRefusalReason, number>;
  };
  /** What the identity provider's SCIM client changed in the period (not filtered by action or requester). */
  directory: {
    counts: Record<(typeof DIRECTORY_EVENT_TYPES)[number], number>;
    /** Decisions recorded in the period by someone SCIM had deactivated or removed before (and not reactivated). */
    decisionsAfterDeprovisioning: number;
  };
  /** Time-bound grants opened, used or revoked in the period (filtered by their opening request). */
  grants: ReportGrantsSection;
  /** Signed checkpoints of the chain: how many were made in the period, and the latest made before its end. */
  checkpoints: {
    inPeriod: number;
    latest: { seq: string; hash: string; at: string; kid: string } | null;
  };
  /** Administrative events in the period (not filtered by action or requester): keys, re-sends, policies. */
  adminActions: {
    counts: Record<(typeof ADMIN_EVENT_TYPES)[number], number>;
    /** Each distinct policy loaded at start-up in the period, in the order first seen. */
    policies: { source: string; digest: string; firstLoadedAt: string }[];
  };
  /** Delegation events of the period (not filtered by action or requester): who for whom, until, why. */
  delegations: ReportDelegationEvent[];
  /** The period's break-glass uses (filtered like the rows) and where each review stands as of the run. */
  breakGlass: ReportBreakGlassUse[];
  chain: {
    /** True when no tampering is found in or before the period's events. */
    intact: boolean;
    verification: VerifyResult;
    /** What was verified: from which signed checkpoint (or seq 1), through which event, whose request rows. */
    scope: ReportVerificationScope;
    firstEvent: ChainEventRef | null;
    lastEvent: ChainEventRef | null;
  };
}

/** A duration of the summary for people: `90 s`, or a dash when there is none. */
export function secondsText(value: number | null): string {
  return value === null ? '–' : `${value} s`;
}

/** One end of the period's stretch of the chain: `seq 12, hash \`…\``, or `none`. */
export function chainEventText(event: ChainEventRef | null): string {
  return event ? `seq ${event.seq}, hash \`${event.hash}\`` : 'none';
}

/** Why the period's chain is not intact, in a few words (the verification's detail not included). */
export function chainFailureText(chain: ReportSummary['chain']): string {
  const v = chain.verification;
  return v.intact
    ? 'no events in the period to verify'
    : `tampering found at seq ${v.firstBadSeq} (${v.problem})`;
}

/** What the verification covered, in one sentence. */
export function verificationScopeText(scope: ReportVerificationScope): string {
  const through =
    scope.throughSeq === null ? 'the chain head' : `seq ${scope.throughSeq} and the link after it`;
  const requests = scope.requests === 'period' ? "the period's requests" : 'every request';
  if (!scope.checkpoint)
    return `verified from seq 1 through ${through}${scope.fullBecause ? ` (${scope.fullBecause})` : ''}; rows of ${requests} checked against the chain`;
  const c = scope.checkpoint;
  return `verified from the signed checkpoint at seq ${c.eventSeq} (signed ${c.at} with key ${c.kid}; it vouches for events up to ${c.seq}) through ${through}; rows of ${requests} checked against the chain`;
}

/** Counts collected as the rows stream past (memory does not grow with the rows). */
export class SummaryAccumulator {
  requests = 0;
  readonly byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as ReportSummary['byStatus'];
  readonly byVerdict = { approve: 0, deny: 0, autoApproved: 0 };
  approvedNeverExecuted = 0;
  executed = 0;
  private readonly actions = new Map<string, number>();

  add(row: ReportRow): void {
    this.requests += 1;
    if (row.status in this.byStatus) this.byStatus[row.status as keyof ReportSummary['byStatus']] += 1;
    for (const approver of row.approvers) {
      this.byVerdict[approver.verdict] += 1;
      if (approver.platform === 'policy') this.byVerdict.autoApproved += 1;
    }
    this.actions.set(row.action, (this.actions.get(row.action) ?? 0) + 1);
    if (row.status === 'approved' && !row.execution) this.approvedNeverExecuted += 1;
    if (row.execution) this.executed += 1;
  }

  topActions(): ReportSummary['topActions'] {
    return [...this.actions.entries()]
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, TOP_ACTIONS)
      .map(([action, count]) => ({ action, count }));
  }
}

/**
 * Median and p95 time to decision of the period's approved and denied requests, as nearest-rank
 * percentiles (percentile_disc), computed by Postgres so the report holds no list of durations.
 */
async function timeToDecision(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<ReportSummary['timeToDecision']> {
  const row = await decisionTimes(db, period, filters);
  return {
    decided: Number(row?.decided ?? 0),
    medianSeconds: row?.median ?? null,
    p95Seconds: row?.p95 ?? null,
  };
}

/** Refused decision attempts in the period, by reason, on requests matching the filters. */
async function countRefusals(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<Record<RefusalReason, number>> {
  const rows = await refusalCountsByReason(db, 'decision.refused', period, filters);
  const counts = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  for (const row of rows) {
    if (row.reason !== null && row.reason in counts) counts[row.reason as RefusalReason] = Number(row.count);
  }
  return counts;
}

/** Refused execution attempts in the period on requests matching the filters, by reason. */
async function countExecutionRefusals(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<{
  refusedAttempts: number;
  secondStartAttempts: number;
  refusedByReason: Record<ExecutionRefusalReason, number>;
}> {
  const rows = await refusalCountsByReason(db, 'execution.refused', period, filters);
  const byReason = Object.fromEntries(EXECUTION_REFUSAL_REASONS.map((r) => [r, 0])) as Record<
    ExecutionRefusalReason,
    number
  >;
  let refusedAttempts = 0;
  for (const row of rows) {
    refusedAttempts += Number(row.count);
    if (row.reason !== null && row.reason in byReason)
      byReason[row.reason as ExecutionRefusalReason] = Number(row.count);
  }
  return { refusedAttempts, secondStartAttempts: byReason.already_executed, refusedByReason: byReason };
}

/**
 * Directory changes in the period by type, and decisions recorded in the period by an approver
 * whose directory user had been deactivated or removed before it, with no reactivation or new
 * provisioning (a removed person created again) between.
 */
async function directoryActivity(
  db: ReadSnapshot,
  period: ReportPeriod,
): Promise<ReportSummary['directory']> {
  const counts = await eventCountsByType(db, period, DIRECTORY_EVENT_TYPES);
  const late = await decisionsAfterDeprovisioningCount(db, period);
  const byType = Object.fromEntries(
    DIRECTORY_EVENT_TYPES.map((t) => [t, 0]),
  ) as ReportSummary['directory']['counts'];
  for (const row of counts) {
    if (row.type in byType) byType[row.type as keyof typeof byType] = Number(row.count);
  }
  return { counts: byType, decisionsAfterDeprovisioning: late };
}

const checkpointPayload = z.object({ seq: z.string(), hash: z.string(), at: z.string(), kid: z.string() });

/** Checkpoints signed in the period, and the latest one signed before the period's end. */
async function checkpointsOf(db: ReadSnapshot, period: ReportPeriod): Promise<ReportSummary['checkpoints']> {
  const inPeriod = await checkpointCountInPeriod(db, period);
  const latest = await latestCheckpointBefore(db, period.to);
  const parsed = latest ? checkpointPayload.safeParse(latest.payload) : null;
  if (parsed && !parsed.success)
    throw new Error('the latest audit.checkpoint event has an unreadable payload');
  return {
    inPeriod,
    latest: parsed ? parsed.data : null,
  };
}

async function adminActions(db: ReadSnapshot, period: ReportPeriod): Promise<ReportSummary['adminActions']> {
  const counts = await eventCountsByType(db, period, ADMIN_EVENT_TYPES);
  const policies = await policiesLoadedIn(db, period);
  const byType = Object.fromEntries(
    ADMIN_EVENT_TYPES.map((t) => [t, 0]),
  ) as ReportSummary['adminActions']['counts'];
  for (const row of counts) {
    if (row.type in byType) byType[row.type as keyof typeof byType] = Number(row.count);
  }
  return {
    counts: byType,
    policies: policies.map((p) => ({
      source: p.source,
      digest: p.digest,
      firstLoadedAt: p.first.toISOString(),
    })),
  };
}

async function periodEdges(
  db: ReadSnapshot,
  period: ReportPeriod,
): Promise<{ firstEvent: ChainEventRef | null; lastEvent: ChainEventRef | null }> {
  const edge = async (order: 'ASC' | 'DESC') => {
    const row = await periodEdgeEvent(db, period, order);
    return row ? { seq: row.seq, hash: row.hash, occurredAt: row.occurred_at.toISOString() } : null;
  };
  return { firstEvent: await edge('ASC'), lastEvent: await edge('DESC') };
}

/**
 * Whether the first bad event is a stored event after the period. A seq no longer stored (events
 * removed right after the period's last one, or from the chain's end) may have been the period's own.
 */
async function badEventAfterPeriod(
  db: ReadSnapshot,
  period: ReportPeriod,
  verification: Extract<VerifyResult, { intact: false }>,
  lastEvent: ChainEventRef | null,
): Promise<boolean> {
  if (lastEvent === null || BigInt(verification.firstBadSeq) <= BigInt(lastEvent.seq)) return false;
  return eventOccurredAtOrAfter(db, verification.firstBadSeq, period.to);
}

/**
 * Completes the summary. The chain is verified up to the period's end from the last signed
 * checkpoint before it (report-verification.ts; `verify` when it already runs on another
 * connection of the snapshot); the period counts as intact when the first bad event, if any,
 * comes after it.
 */
export async function completeSummary(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
  acc: SummaryAccumulator,
  verify: () => Promise<ReportVerification>,
): Promise<ReportSummary> {
  // One connection (the report's snapshot) runs one query at a time.
  const refusedByReason = await countRefusals(db, period, filters);
  const decisionTimes = await timeToDecision(db, period, filters);
  const edges = await periodEdges(db, period);
  const executionRefusals = await countExecutionRefusals(db, period, filters);
  const admin = await adminActions(db, period);
  const directory = await directoryActivity(db, period);
  const checkpoints = await checkpointsOf(db, period);
  const grants = await grantsSection(db, period, filters);
  const delegations = await delegationEvents(db, period);
  const breakGlass = await breakGlassUses(db, period, filters);
  const { verification, scope } = await verify();
  const intact =
    verification.intact || (await badEventAfterPeriod(db, period, verification, edges.lastEvent));
  return {
    requests: acc.requests,
    byStatus: acc.byStatus,
    byVerdict: acc.byVerdict,
    refusedByReason,
    expiries: acc.byStatus.expired,
    timeToDecision: decisionTimes,
    topActions: acc.topActions(),
    executions: {
      approvedNeverExecuted: acc.approvedNeverExecuted,
      executed: acc.executed,
      ...executionRefusals,
    },
    adminActions: admin,
    directory,
    grants,
    checkpoints,
    delegations,
    breakGlass,
    chain: { intact, verification, scope, ...edges },
  };
}
