// CSV rows (RFC 4180 through csv-stringify, CRLF records), safe to open in a spreadsheet: a cell
// that would start a formula gets a leading apostrophe. A `#` comment line before the header names
// the period; one after the last row gives the chain status (known only once the rows are out).
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { grantText } from './report-grants.ts';
import type { ReportPeriod } from './report-period.ts';
import type { ReportRow } from './report-rows.ts';
import type { ControlsSection } from './controls.ts';
import { verificationScopeText, type ReportSummary } from './report-summary.ts';
import { writeChunk } from './write-stream.ts';

export const CSV_COLUMNS = [
  'id',
  'created_at',
  'action',
  'title',
  'requester',
  'agent',
  'policy_rule',
  'approvers',
  'time_to_decision_seconds',
  'status',
  'decided_at',
  'payload_digest',
  'chat',
  'callback_status',
  'callback_attempts',
  'executed_at',
  'execution_outcome',
  'asked_approvers',
  'cancelled_by',
  'cancel_reason',
  'requester_proof',
  'grant_id',
  'execution_secrets',
  'approvers_eligible_through',
] as const;

/** The comment line before the header. No commas, so a spreadsheet keeps it in one cell. */
export function csvPeriodComment(period: ReportPeriod): string {
  return `# Countersign audit report: period ${period.from.toISOString()} to ${period.to.toISOString()} (end excluded)\r\n`;
}

/** The comment line after the last row. */
export function csvChainComment(summary: ReportSummary): string {
  const chain = summary.chain;
  const v = chain.verification;
  const status = chain.intact
    ? `intact (${v.events} events verified)`
    : v.intact
      ? 'NOT INTACT (no events in the period to verify)'
      : `NOT INTACT (first bad seq ${v.firstBadSeq}: ${v.problem})`;
  const edges =
    chain.firstEvent && chain.lastEvent
      ? `; period events seq ${chain.firstEvent.seq} to ${chain.lastEvent.seq}`
      : '';
  // Commas become semicolons so the line stays in one cell.
  const scope = verificationScopeText(chain.scope).replace(/,/g, ';');
  // The status stays the last line.
  return `# chain ${scope}\r\n# chain ${status}${edges}\r\n`;
}

/**
 * With --controls, one comment line per control after the chain line: `# control <framework> <id>:
 * <status>` and the reasons for attention. Commas become semicolons so each stays in one cell.
 */
export function csvControlComments(section: ControlsSection): string {
  return section.controls
    .map((c) => {
      const reasons = c.reasons.length > 0 ? ` (${c.reasons.join('; ')})` : '';
      return `# control ${section.framework} ${c.id}: ${c.status}${reasons}`.replace(/[,\r\n]/g, (ch) =>
        ch === ',' ? ';' : ' ',
      );
    })
    .map((line) => `${line}\r\n`)
    .join('');
}

/** Commas become semicolons and line breaks spaces, so a comment line stays in one cell. */
function commentLine(text: string): string {
  return `${text.replace(/[,\r\n]/g, (ch) => (ch === ',' ? ';' : ' '))}\r\n`;
}

/**
 * Before the chain lines: one comment line per delegation event and per break-glass use of the
 * period (they belong to no request row, or say more than a cell could).
 */
export function csvStandInComments(summary: ReportSummary): string {
  const delegations = summary.delegations.map((d) =>
    commentLine(
      `# delegation ${d.at} ${d.event}: ${d.to} for ${d.from}` +
        `${d.until ? ` until ${d.until}` : ''}${d.requestId ? ` on request ${d.requestId} (${d.verdict ?? ''})` : ''}` +
        ` by ${d.actor}${d.reason ? `: ${d.reason}` : ''}`,
    ),
  );
  const uses = summary.breakGlass.map((u) => {
    const review =
      u.review === 'acknowledged' || u.review === 'flagged'
        ? `${u.review} by ${u.reviewedBy ?? ''} at ${u.reviewedAt ?? ''}${u.overdueAt ? ` (overdue at ${u.overdueAt})` : ''}${u.note ? ` (${u.note})` : ''}`
        : u.review === 'overdue'
          ? `OVERDUE since ${u.overdueAt ?? ''}`
          : `open until ${u.reviewDueAt}`;
    return commentLine(
      `# break-glass ${u.at} request ${u.requestId} ${u.action} by ${u.requester}: review ${review}; reason: ${u.reason}`,
    );
  });
  return [...delegations, ...uses].join('');
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** Prefixes `'` to a value a spreadsheet would read as a formula (OWASP CSV injection). */
export function escapeFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

function csvRecord(values: readonly string[]): string {
  return stringify([values.map(escapeFormula)], { record_delimiter: 'windows' });
}

/**
 * Approvers in one cell: `email verdict at (reason)`, separated by `; `; a decision made through
 * the development sign-in ends in `[development sign-in]`, an approval that chose a window in
 * `[grant of N min]`. A grant's decision names the grant, who approved it and its window.
 */
export function approversCell(row: ReportRow): string {
  return row.approvers
    .map((a) => {
      const who = a.grant ? grantText(a.grant) : a.email;
      const window = a.grantMinutes ? ` [grant of ${a.grantMinutes} min]` : '';
      return `${who} ${a.verdict} ${a.at}${a.reason ? ` (${a.reason})` : ''}${a.devSignin ? ' [development sign-in]' : ''}${window}`;
    })
    .join('; ');
}

/** The grant that approved the request, if one did. */
export function grantIdCell(row: ReportRow): string {
  return row.approvers.flatMap((a) => (a.grant ? [a.grant.id] : [])).join('; ');
}

/** The names of the secrets the execution received (`ENV=secret-name`), never their values. */
export function executionSecretsCell(row: ReportRow): string {
  return (row.execution?.secrets ?? []).join('; ');
}

/**
 * What made each decider eligible, in one cell: `email: named approver`, `email: idp:Data Owners
 * (scim)`, `email: delegate for bob@example.com`, separated by `; `.
 */
export function eligibleThroughCell(row: ReportRow): string {
  return row.approvers.map((a) => `${a.email}: ${a.eligibleThrough}`).join('; ');
}

export function chatCell(row: ReportRow): string {
  return row.chat.map((c) => (c.messageId ? `${c.channel} ${c.messageId}` : c.channel)).join('; ');
}

export function csvValues(row: ReportRow): string[] {
  return [
    row.id,
    row.createdAt,
    row.action,
    row.title ?? '',
    row.requester,
    row.agent ?? '',
    row.policyRule ?? '',
    approversCell(row),
    row.timeToDecisionSeconds === null ? '' : String(row.timeToDecisionSeconds),
    row.status,
    row.decidedAt ?? '',
    row.payloadDigest,
    chatCell(row),
    row.callback?.status ?? 'none',
    String(row.callback?.attempts ?? 0),
    row.execution?.executedAt ?? '',
    row.execution?.outcome ?? '',
    row.askedApprovers === null ? 'anyone but the requester' : row.askedApprovers.join('; '),
    row.cancelledBy ?? '',
    row.cancelReason ?? '',
    row.requesterProof,
    grantIdCell(row),
    executionSecretsCell(row),
    eligibleThroughCell(row),
  ];
}

export class CsvReportWriter {
  constructor(private readonly out: Writable) {}

  begin(period: ReportPeriod): Promise<void> {
    return writeChunk(this.out, csvPeriodComment(period) + csvRecord(CSV_COLUMNS));
  }

  end(summary: ReportSummary, controls?: ControlsSection): Promise<void> {
    return writeChunk(
      this.out,
      csvStandInComments(summary) + csvChainComment(summary) + (controls ? csvControlComments(controls) : ''),
    );
  }

  row(row: ReportRow): Promise<void> {
    return writeChunk(this.out, csvRecord(csvValues(row)));
  }
}
