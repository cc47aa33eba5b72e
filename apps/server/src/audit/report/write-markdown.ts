// Markdown for people: the summary first (so it needs the summary before the rows), then one
// table row per request. Every text cell is escaped (markdownCell) and line breaks flattened.
import type { Writable } from 'node:stream';
import type { ReportPeriod } from './report-period.ts';
import type { ReportFilters, ReportRow } from './report-rows.ts';
import {
  chainEventText,
  chainFailureText,
  secondsText,
  verificationScopeText,
  type ReportSummary,
} from './report-summary.ts';
import type { ControlsSection } from './controls.ts';
import { approversCell, chatCell, eligibleThroughCell } from './write-csv.ts';
import { writeChunk } from './write-stream.ts';
import type { ReportGrantsSection } from './report-grants-section.ts';

/**
 * Cell text that stays text: HTML as entities (`&`, `<`, `>`), the Markdown punctuation that makes
 * emphasis, code, links, images, strike-through and table cells escaped with a backslash, and line
 * breaks as spaces. Requesters, agents and deciders write these texts; a reader's renderer must not
 * run or link anything from them.
 */
export function markdownCell(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]()!~|]/g, '\\$&')
    .replace(/\r\n|\r|\n/g, ' ');
}

export function summaryMarkdown(period: ReportPeriod, filters: ReportFilters, s: ReportSummary): string {
  const lines = [
    '# Countersign audit report',
    '',
    `Period: ${period.from.toISOString()} to ${period.to.toISOString()} (end excluded)`,
  ];
  if (filters.action) lines.push(`Action filter: ${markdownCell(filters.action)}`);
  if (filters.requester) lines.push(`Requester filter: ${markdownCell(filters.requester)}`);
  const chain = s.chain;
  lines.push(
    '',
    '## Chain verification',
    '',
    chain.intact
      ? `**INTACT**: ${chain.verification.events} events verified.`
      : `**NOT INTACT**: ${chainFailureText(chain)}${
          chain.verification.intact ? '' : `: ${chain.verification.detail}`
        }`,
    '',
    `- Scope: ${verificationScopeText(chain.scope)}`,
    `- First event in the period: ${chainEventText(chain.firstEvent)}`,
    `- Last event in the period: ${chainEventText(chain.lastEvent)}`,
    '',
    '## Summary',
    '',
    '| measure | value |',
    '| --- | --- |',
    `| requests | ${s.requests} |`,
    ...Object.entries(s.byStatus).map(([status, n]) => `| ${status} | ${n} |`),
    `| approve decisions | ${s.byVerdict.approve} |`,
    `| deny decisions | ${s.byVerdict.deny} |`,
    `| auto-approved by policy | ${s.byVerdict.autoApproved} |`,
    `| expiries | ${s.expiries} |`,
    `| decided requests | ${s.timeToDecision.decided} |`,
    `| median time to decision | ${secondsText(s.timeToDecision.medianSeconds)} |`,
    `| p95 time to decision | ${secondsText(s.timeToDecision.p95Seconds)} |`,
    `| approved but never executed | ${s.executions.approvedNeverExecuted} |`,
    `| execution attempts refused | ${s.executions.refusedAttempts} |`,
    `| of which second starts | ${s.executions.secondStartAttempts} |`,
    '',
    '### Refused attempts by reason',
    '',
    '| reason | count |',
    '| --- | --- |',
    ...Object.entries(s.refusedByReason).map(([reason, n]) => `| ${reason} | ${n} |`),
    '',
    '### Top actions',
    '',
    '| action | requests |',
    '| --- | --- |',
    ...s.topActions.map((a) => `| ${markdownCell(a.action)} | ${a.count} |`),
    '',
    '### Administrative actions',
    '',
    '| event | count |',
    '| --- | --- |',
    ...Object.entries(s.adminActions.counts).map(([type, n]) => `| ${type} | ${n} |`),
    '',
    ...(s.adminActions.policies.length > 0
      ? [
          'Policies loaded at start-up:',
          '',
          ...s.adminActions.policies.map(
            (p) => `- ${markdownCell(p.source)}: \`${p.digest}\` (first at ${p.firstLoadedAt})`,
          ),
          '',
        ]
      : []),
    ...grantsMarkdown(s.grants),
    ...delegationsMarkdown(s.delegations),
    ...breakGlassMarkdown(s.breakGlass),
  );
  return `${lines.join('\n')}\n`;
}

const cells = (values: string[]) => `| ${values.map(markdownCell).join(' | ')} |`;

function delegationsMarkdown(events: ReportSummary['delegations']): string[] {
  const head = ['### Delegations', ''];
  if (events.length === 0)
    return [...head, 'No delegation was created, used, removed or expired in the period.', ''];
  return [
    ...head,
    '| when | event | delegate | for | until | reason | by | request |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...events.map((e) =>
      cells([
        e.at,
        e.event,
        e.to,
        e.from,
        e.until ?? '',
        e.reason ?? '',
        e.actor,
        e.requestId ? `${e.requestId}${e.verdict ? ` (${e.verdict})` : ''}` : '',
      ]),
    ),
    '',
  ];
}

function breakGlassMarkdown(uses: ReportSummary['breakGlass']): string[] {
  const head = ['### Break-glass uses', ''];
  if (uses.length === 0) return [...head, 'No break-glass use in the period.', ''];
  const review = (u: ReportSummary['breakGlass'][number]) => {
    const late = u.overdueAt ? ` (overdue at ${u.overdueAt})` : '';
    if (u.review === 'acknowledged' || u.review === 'flagged')
      return `${u.review} by ${u.reviewedBy ?? ''} at ${u.reviewedAt ?? ''}${late}${u.note ? `: ${u.note}` : ''}`;
    return u.review === 'overdue' ? `OVERDUE since ${u.overdueAt ?? ''}` : `open until ${u.reviewDueAt}`;
  };
  return [
    ...head,
    '| when | request | action | requester | reason | reviewers | review |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...uses.map((u) =>
      cells([u.at, u.requestId, u.action, u.requester, u.reason, u.reviewers.join(', '), review(u)]),
    ),
    '',
  ];
}

/** With --controls: a section per control, its status, the reasons for attention and the evidence. */
export function controlsMarkdown(section: ControlsSection): string {
  const lines = [`## Controls: ${markdownCell(section.frameworkTitle)}`, ''];
  lines.push('| control | title | status |', '| --- | --- | --- |');
  for (const c of section.controls) {
    lines.push(`| ${markdownCell(c.id)} | ${markdownCell(c.title)} | ${c.status} |`);
  }
  lines.push('');
  for (const c of section.controls) {
    lines.push(`### ${markdownCell(c.id)} ${markdownCell(c.title)}`, '', `Status: **${c.status}**`, '');
    for (const reason of c.reasons) lines.push(`- Attention: ${markdownCell(reason)}`);
    for (const check of c.checks) {
      const evidence = check.evidence.length > 0 ? check.evidence : ['no evidence in period'];
      for (const line of evidence) lines.push(`- ${check.check}: ${markdownCell(line)}`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

const TABLE_HEAD = [
  '## Requests',
  '',
  '| id | created | action | title | requester | agent | rule | approvers | eligible through | time to decision | status | payload digest | chat | callback | execution |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  '',
].join('\n');

export function rowMarkdown(row: ReportRow): string {
  const cells = [
    row.id,
    row.createdAt,
    row.action,
    row.title ?? '',
    `${row.requester} (${row.requesterProof})`,
    row.agent ?? '',
    row.policyRule ?? '',
    approversCell(row),
    eligibleThroughCell(row),
    row.timeToDecisionSeconds === null ? '' : `${row.timeToDecisionSeconds} s`,
    row.status,
    row.payloadDigest,
    chatCell(row),
    row.callback ? `${row.callback.status} (${row.callback.attempts} attempts)` : 'none',
    row.execution
      ? `${row.execution.outcome} at ${row.execution.executedAt}${row.execution.secrets ? ` (secrets: ${row.execution.secrets.join(', ')})` : ''}`
      : 'none',
  ];
  return `| ${cells.map(markdownCell).join(' | ')} |\n`;
}

export class MarkdownReportWriter {
  constructor(private readonly out: Writable) {}

  begin(
    period: ReportPeriod,
    filters: ReportFilters,
    summary: ReportSummary,
    controls?: ControlsSection,
  ): Promise<void> {
    const section = controls ? `\n${controlsMarkdown(controls)}` : '';
    return writeChunk(this.out, `${summaryMarkdown(period, filters, summary)}${section}\n${TABLE_HEAD}`);
  }

  row(row: ReportRow): Promise<void> {
    return writeChunk(this.out, rowMarkdown(row));
  }
}

/** The grants section: the counts, then one row per grant opened, used or revoked in the period. */
export function grantsMarkdown(section: ReportGrantsSection): string[] {
  const lines = [
    '### Time-bound grants',
    '',
    `Issued ${section.issued}, requests approved by a grant ${section.uses}, revoked ${section.revoked} in the period.`,
    '',
  ];
  if (section.grants.length === 0) return lines;
  lines.push(
    '| grant | action | requester | agent | approved by | window | opened by request | uses in period | revoked |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const g of section.grants) {
    const cells = [
      g.id,
      g.action,
      g.requester,
      g.agent ?? '',
      g.approvedBy.join(', '),
      `${g.minutes} min, ${g.from} to ${g.until}`,
      g.openedBy,
      String(g.usesInPeriod),
      g.revokedAt ? `${g.revokedAt} by ${g.revokedBy ?? 'unknown'}` : '',
    ];
    lines.push(`| ${cells.map(markdownCell).join(' | ')} |`);
  }
  lines.push('');
  return lines;
}
