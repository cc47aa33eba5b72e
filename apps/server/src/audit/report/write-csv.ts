// CSV rows (RFC 4180 through csv-stringify, CRLF records, header first), safe to open in a
// spreadsheet: a cell that would start a formula gets a leading apostrophe.
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { ReportRow } from './report-rows.ts';
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
] as const;

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
 * the development sign-in ends in `[development sign-in]`.
 */
export function approversCell(row: ReportRow): string {
  return row.approvers
    .map(
      (a) =>
        `${a.email} ${a.verdict} ${a.at}${a.reason ? ` (${a.reason})` : ''}${a.devSignin ? ' [development sign-in]' : ''}`,
    )
    .join('; ');
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
  ];
}

export class CsvReportWriter {
  constructor(private readonly out: Writable) {}

  begin(): Promise<void> {
    return writeChunk(this.out, csvRecord(CSV_COLUMNS));
  }

  row(row: ReportRow): Promise<void> {
    return writeChunk(this.out, csvRecord(csvValues(row)));
  }
}
