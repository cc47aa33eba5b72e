// What /countersign report answers in Slack: the report's summary as a private Block Kit message
// (rendered from the chat core's summary view), plus the usage sentence.
import type { KnownBlock } from '@slack/types';
import type { ReportPeriod } from '../../audit/report/report-period.ts';
import type { ReportSummary } from '../../audit/report/report-summary.ts';
import { buildReportSummaryView, type ReportSummaryView } from '../report-summary-view.ts';
import { escapeMrkdwn } from './cards.ts';

export const REPORT_USAGE =
  'Usage: `/countersign report [7d|30d|<from>..<to>]`, e.g. `/countersign report 7d` or ' +
  '`/countersign report 2030-01-01..2030-01-31`. Without a period: the last 30 days. ' +
  'Only members of the policy group `auditors` may run it.';

function chainText(chain: ReportSummaryView['chain']): string {
  const verdict = chain.intact
    ? `:white_check_mark: *${chain.headline}* ${chain.detail}`
    : `:warning: *${chain.headline}*${chain.detail}`;
  return [verdict, `First event: ${chain.firstEvent}`, `Last event: ${chain.lastEvent}`].join('\n');
}

function topActionsText(view: ReportSummaryView): string {
  if (view.topActions.length === 0) return '*Top actions:* none';
  return `*Top actions:* ${view.topActions.map((a) => `\`${escapeMrkdwn(a.action)}\` ${a.count}`).join(', ')}`;
}

/** The private summary message; `fileNote` says where the CSV went (or why it did not). */
export function reportSummaryMessage(
  period: ReportPeriod,
  summary: ReportSummary,
  fileNote: string,
): { text: string; blocks: KnownBlock[] } {
  const view = buildReportSummaryView(period, summary);
  const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
  return {
    text: view.summary,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Countersign audit report' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: view.period }] },
      section(chainText(view.chain)),
      section(view.counts.map(([label, value]) => `*${label}:* ${value}`).join('\n')),
      section(topActionsText(view)),
      { type: 'context', elements: [{ type: 'mrkdwn', text: fileNote }] },
    ],
  };
}
