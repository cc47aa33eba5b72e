// The report summary a chat auditor sees, independent of the platform: the period, the chain
// verdict first (as in the Markdown report), then labelled counts. Slack and Teams render it.
import type { ReportPeriod } from '../audit/report/report-period.ts';
import {
  chainEventText,
  chainFailureText,
  secondsText,
  type ReportSummary,
} from '../audit/report/report-summary.ts';

const day = (d: Date) => d.toISOString().replace('.000Z', 'Z');

export function periodLabel(period: ReportPeriod): string {
  return `${day(period.from)} to ${day(period.to)}`;
}

export interface ReportSummaryView {
  title: string;
  period: string;
  /** `headline` then `detail`, e.g. "Audit chain intact" + "(12 events verified)". */
  chain: { intact: boolean; headline: string; detail: string; firstEvent: string; lastEvent: string };
  /** [label, value] lines; values are plain text. */
  counts: [string, string][];
  topActions: { action: string; count: number }[];
  /** One plain line for notifications. */
  summary: string;
}

export function buildReportSummaryView(period: ReportPeriod, s: ReportSummary): ReportSummaryView {
  const statuses = Object.entries(s.byStatus)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ');
  const refused = Object.entries(s.refusedByReason)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const title = `Countersign audit report, ${periodLabel(period)}`;
  return {
    title,
    period: `${periodLabel(period)} (end excluded)`,
    chain: {
      intact: s.chain.intact,
      headline: s.chain.intact ? 'Audit chain intact' : 'AUDIT CHAIN NOT INTACT',
      detail: s.chain.intact
        ? `(${s.chain.verification.events} events verified)`
        : `: ${chainFailureText(s.chain)}`,
      firstEvent: chainEventText(s.chain.firstEvent),
      lastEvent: chainEventText(s.chain.lastEvent),
    },
    counts: [
      ['Requests', `${s.requests} (${statuses})`],
      [
        'Decisions',
        `approve ${s.byVerdict.approve}, deny ${s.byVerdict.deny}, auto-approved by policy ${s.byVerdict.autoApproved}`,
      ],
      ['Refused attempts', refused || 'none'],
      ['Expiries', String(s.expiries)],
      [
        'Time to decision',
        `median ${secondsText(s.timeToDecision.medianSeconds)}, p95 ${secondsText(s.timeToDecision.p95Seconds)} over ${s.timeToDecision.decided} decided`,
      ],
    ],
    topActions: s.topActions,
    summary: `${title}: ${s.requests} requests; ${s.chain.intact ? 'audit chain intact' : 'AUDIT CHAIN NOT INTACT'}`,
  };
}
