// CSV cells: formula injection escaped, RFC 4180 quoting of commas, quotes and line breaks.
import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ReportRow } from './report-rows.ts';
import { CSV_COLUMNS, CsvReportWriter, escapeFormula } from './write-csv.ts';
import { markdownCell } from './write-markdown.ts';

describe('escapeFormula', () => {
  it.each([
    ['=HYPERLINK("http://evil","x")', `'=HYPERLINK("http://evil","x")`],
    ['+1+1', `'+1+1`],
    ['-2+3', `'-2+3`],
    ['@SUM(A1)', `'@SUM(A1)`],
    ['\tcmd', `'\tcmd`],
    ['\rcmd', `'\rcmd`],
  ])('prefixes an apostrophe to %j', (value, escaped) => {
    expect(escapeFormula(value)).toBe(escaped);
  });

  it.each(['db.export', 'a=b', 'alice@example.com', '', "'quoted"])('leaves %j alone', (value) => {
    expect(escapeFormula(value)).toBe(value);
  });
});

const row = (overrides: Partial<ReportRow>): ReportRow => ({
  id: '00000000-0000-4000-8000-000000000001',
  createdAt: '2030-01-01T09:00:00.000Z',
  action: 'db.export',
  title: null,
  requester: 'alice@example.com',
  requesterProof: 'bound to key deploy-bot',
  agent: null,
  policyRule: 'ops',
  approvers: [],
  askedApprovers: ['bob@example.com'],
  cancelledBy: null,
  cancelReason: null,
  timeToDecisionSeconds: null,
  status: 'pending',
  decidedAt: null,
  payloadDigest: 'abc',
  chat: [],
  callback: null,
  execution: null,
  ...overrides,
});

async function csvOf(rows: ReportRow[]): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const writer = new CsvReportWriter(out);
  await writer.begin({ from: new Date('2030-01-01T00:00:00Z'), to: new Date('2030-02-01T00:00:00Z') });
  for (const r of rows) await writer.row(r);
  return text;
}

describe('CsvReportWriter', () => {
  it('writes RFC 4180 records (CRLF, quoted commas, quotes and line breaks) that parse back', async () => {
    const title = 'a, "quoted"\nmulti-line title';
    const text = await csvOf([row({ title }), row({ title: '-1', agent: '@bot' })]);
    expect(text.split('\r\n')[0]).toBe(
      '# Countersign audit report: period 2030-01-01T00:00:00.000Z to 2030-02-01T00:00:00.000Z (end excluded)',
    );
    expect(text.split('\r\n')[1]).toBe(CSV_COLUMNS.join(','));
    expect(text).toContain('"a, ""quoted""\nmulti-line title"');
    const records = parse<Record<string, string>>(text, {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    expect(records.map((r) => [r['title'], r['agent'], r['callback_status']])).toEqual([
      [title, '', 'none'],
      ["'-1", "'@bot", 'none'],
    ]);
    expect(records.map((r) => r['requester_proof'])).toEqual([
      'bound to key deploy-bot',
      'bound to key deploy-bot',
    ]);
  });
});

describe('markdownCell', () => {
  it('escapes pipes and backslashes and flattens line breaks', () => {
    expect(markdownCell('a | b\\c\r\nd\ne')).toBe('a \\| b\\\\c d e');
  });
});
