// The Audit page's figures for a period: requests and verdicts per day (UTC), the time-to-decision
// distribution with median and p95 (nearest rank, as in the report), refusals by reason.
import { REFUSAL_REASONS, type RefusalReason } from '../../audit/event-types.ts';
import type { ReportPeriod } from '../../audit/report/report-period.ts';
import type { Deps } from '../../deps.ts';
import {
  decisionTimeBucketCounts,
  decisionTimeSummary,
  refusalsByReason,
  requestsCreatedPerDay,
  verdictsPerDay,
} from './console-read-store.ts';

export const VERDICTS = ['approved', 'denied', 'expired', 'cancelled'] as const;
export type VerdictStatus = (typeof VERDICTS)[number];

export interface DayFigures {
  day: string;
  created: number;
  verdicts: Record<VerdictStatus, number>;
}

/** Upper bounds in seconds; the last bucket is open-ended. */
export const DECISION_BUCKETS = [
  { label: '< 1 min', upTo: 60 },
  { label: '1–5 min', upTo: 300 },
  { label: '5–15 min', upTo: 900 },
  { label: '15–60 min', upTo: 3600 },
  { label: '1–4 h', upTo: 14_400 },
  { label: '4–24 h', upTo: 86_400 },
  { label: '> 24 h', upTo: Number.POSITIVE_INFINITY },
] as const;

export interface AuditCharts {
  days: DayFigures[];
  timeToDecision: {
    buckets: { label: string; count: number }[];
    medianSeconds: number | null;
    p95Seconds: number | null;
    decided: number;
  };
  refusals: { reason: RefusalReason; count: number }[];
}

const DAY_MS = 86_400_000;
/** Per-day charts beyond this many days would be unreadable; the period's end is kept. */
export const MAX_CHART_DAYS = 92;

export async function loadAuditCharts(deps: Pick<Deps, 'db'>, period: ReportPeriod): Promise<AuditCharts> {
  const { from, to } = period;
  const [created, decided, ttd, buckets, refusals] = await Promise.all([
    requestsCreatedPerDay(deps.db, from, to),
    verdictsPerDay(deps.db, from, to),
    decisionTimeSummary(deps.db, from, to),
    bucketCounts(deps, period),
    refusalsByReason(deps.db, from, to),
  ]);
  const createdBy = new Map(created.map((r) => [r.day, r.count]));
  const days: DayFigures[] = dayList(period).map((day) => ({
    day,
    created: createdBy.get(day) ?? 0,
    verdicts: { approved: 0, denied: 0, expired: 0, cancelled: 0 },
  }));
  const byDay = new Map(days.map((d) => [d.day, d]));
  for (const row of decided) {
    const figures = byDay.get(row.day);
    if (figures && (VERDICTS as readonly string[]).includes(row.status)) {
      figures.verdicts[row.status as VerdictStatus] += row.count;
    }
  }
  const refusalCounts = new Map(refusals.map((r) => [r.reason, r.count]));
  const summary = ttd[0];
  return {
    days,
    timeToDecision: {
      buckets,
      medianSeconds: summary?.median ?? null,
      p95Seconds: summary?.p95 ?? null,
      decided: summary?.decided ?? 0,
    },
    refusals: REFUSAL_REASONS.map((reason) => ({ reason, count: refusalCounts.get(reason) ?? 0 })),
  };
}

async function bucketCounts(deps: Pick<Deps, 'db'>, { from, to }: ReportPeriod) {
  const bounds = DECISION_BUCKETS.slice(0, -1).map((b) => b.upTo);
  const rows = await decisionTimeBucketCounts(deps.db, from, to, bounds);
  const counts = new Map(rows.map((r) => [r.bucket, r.count]));
  return DECISION_BUCKETS.map((b, index) => ({ label: b.label, count: counts.get(index) ?? 0 }));
}

/** The UTC days the period touches, newest MAX_CHART_DAYS at most. */
export function dayList({ from, to }: ReportPeriod): string[] {
  const days: string[] = [];
  const last = Math.floor((to.getTime() - 1) / DAY_MS);
  const first = Math.max(Math.floor(from.getTime() / DAY_MS), last - MAX_CHART_DAYS + 1);
  for (let d = first; d <= last; d++) days.push(new Date(d * DAY_MS).toISOString().slice(0, 10));
  return days;
}
