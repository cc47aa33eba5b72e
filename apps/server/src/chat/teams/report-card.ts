// The report summary an auditor gets in Teams, as an Adaptive Card rendered from the chat core's
// summary view (chain verdict first, then the counts).
import type { ReportPeriod } from '../../audit/report/report-period.ts';
import type { ReportSummary } from '../../audit/report/report-summary.ts';
import { buildReportSummaryView } from '../report-summary-view.ts';

function line(text: string, style: { bold?: boolean; subtle?: boolean; color?: string } = {}) {
  return {
    type: 'RichTextBlock',
    inlines: [
      {
        type: 'TextRun',
        text,
        ...(style.bold ? { weight: 'Bolder' } : {}),
        ...(style.subtle ? { isSubtle: true } : {}),
        ...(style.color ? { color: style.color } : {}),
      },
    ],
  };
}

export function renderReportSummaryCard(
  period: ReportPeriod,
  summary: ReportSummary,
  fileNote: string,
): Record<string, unknown> {
  const view = buildReportSummaryView(period, summary);
  const chain = view.chain;
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    fallbackText: view.summary,
    body: [
      line('Countersign audit report', { bold: true }),
      line(view.period, { subtle: true }),
      line(`${chain.intact ? '✅' : '⚠️'} ${chain.headline}${chain.intact ? ' ' : ''}${chain.detail}`, {
        bold: true,
        ...(chain.intact ? {} : { color: 'Attention' }),
      }),
      line(`First event: ${chain.firstEvent.replace(/`/g, '')}`),
      line(`Last event: ${chain.lastEvent.replace(/`/g, '')}`),
      ...view.counts.map(([label, value]) => ({
        type: 'RichTextBlock',
        inlines: [
          { type: 'TextRun', text: `${label}: `, weight: 'Bolder' },
          { type: 'TextRun', text: value },
        ],
      })),
      line(
        `Top actions: ${view.topActions.length === 0 ? 'none' : view.topActions.map((a) => `${a.action} ${a.count}`).join(', ')}`,
      ),
      line(fileNote, { subtle: true }),
    ],
  };
}
