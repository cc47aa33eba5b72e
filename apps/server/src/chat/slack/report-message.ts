// What /countersign report answers in Slack: the report's summary as a private Block Kit message
// (the chain result first, as in the Markdown report), plus the usage and refusal sentences.
import type { KnownBlock } from '@slack/types';
import type { ReportPeriod } from '../../audit/report/report-period.ts';
import {
  chainEventText,
  chainFailureText,
  secondsText,
  type ReportSummary,
} from '../../audit/report/report-summary.ts';
import { escapeMrkdwn } from './cards.ts';

export const REPORT_USAGE =
  'Usage: `/countersign report [7d|30d|<from>..<to>]`, e.g. `/countersign report 7d` or ' +
  '`/countersign report 2030-01-01..2030-01-31`. Without a period: the last 30 days. ' +
  'Only members of the policy group `auditors` may run it.';

const day = (d: Date) => d.toISOString().replace('.000Z', 'Z');

export function periodLabel(period: ReportPeriod): string {
  return `${day(period.from)} to ${day(period.to)}`;
}

function chainText(chain: ReportSummary['chain']): string {
  const verdict = chain.intact
    ? `:white_check_mark: *Audit chain intact* (${chain.verification.events} events verified)`
    : `:warning: *AUDIT CHAIN NOT INTACT*: ${chainFailureText(chain)}`;
  return [
    verdict,
    `First event: ${chainEventText(chain.firstEvent)}`,
    `Last event: ${chainEventText(chain.lastEvent)}`,
  ].join('\n');
}

function countsText(s: ReportSummary): string {
  const statuses = Object.entries(s.byStatus)
    .map(([status, n]) => `${status} ${n}`)
    .join(', ');
  const refused = Object.entries(s.refusedByReason)
    .filter(([, n]) => n > 0)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    `*Requests:* ${s.requests} (${statuses})`,
    `*Decisions:* approve ${s.byVerdict.approve}, deny ${s.byVerdict.deny}, auto-approved by policy ${s.byVerdict.autoApproved}`,
    `*Refused attempts:* ${refused || 'none'}`,
    `*Expiries:* ${s.expiries}`,
    `*Time to decision:* median ${secondsText(s.timeToDecision.medianSeconds)}, p95 ${secondsText(
      s.timeToDecision.p95Seconds,
    )} over ${s.timeToDecision.decided} decided`,
  ].join('\n');
}

function topActionsText(s: ReportSummary): string {
  if (s.topActions.length === 0) return '*Top actions:* none';
  return `*Top actions:* ${s.topActions.map((a) => `\`${escapeMrkdwn(a.action)}\` ${a.count}`).join(', ')}`;
}

/** The private summary message; `fileNote` says where the CSV went (or why it did not). */
export function reportSummaryMessage(
  period: ReportPeriod,
  summary: ReportSummary,
  fileNote: string,
): { text: string; blocks: KnownBlock[] } {
  const title = `Countersign audit report, ${periodLabel(period)}`;
  const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
  return {
    text: `${title}: ${summary.requests} requests; ${
      summary.chain.intact ? 'audit chain intact' : 'AUDIT CHAIN NOT INTACT'
    }`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Countersign audit report' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `${periodLabel(period)} (end excluded)` }] },
      section(chainText(summary.chain)),
      section(countsText(summary)),
      section(topActionsText(summary)),
      { type: 'context', elements: [{ type: 'mrkdwn', text: fileNote }] },
    ],
  };
}
