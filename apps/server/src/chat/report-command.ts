// The chat report command, whatever the platform: `report [7d|30d|<from>..<to>]` or `help`. Only
// members of the policy group `auditors` may run it (approvals/check-auditor.ts, as on the
// console); anyone else is refused and the attempt is audited. An auditor's report is written as
// CSV to a temporary file for the adapter to deliver.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDITORS_GROUP, checkAuditor, type ReportRefusal } from '../approvals/check-auditor.ts';
import type { ChatOrigin } from '../audit/event-types.ts';
import { generateReport } from '../audit/report/generate-report.ts';
import {
  parseReportPeriod,
  reportFileName,
  ReportPeriodError,
  type ReportPeriod,
} from '../audit/report/report-period.ts';
import type { ReportSummary } from '../audit/report/report-summary.ts';
import type { Deps } from '../deps.ts';
import { PLATFORM_NAMES } from '../approvals/channels.ts';
import type { ChatIdentity } from './identity-cache.ts';

export type ReportCommandText =
  | { kind: 'report'; from: string | undefined; to: string | undefined }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

/** `report`, `report 7d`, `report 2030-01-01..2030-01-31` (either side may be left out), `help`. */
export function parseCommandText(text: string): ReportCommandText {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb, period, ...rest] = words;
  if (verb === undefined || verb.toLowerCase() === 'help') return { kind: 'help' };
  if (verb.toLowerCase() !== 'report') return { kind: 'invalid', message: `Unknown command \`${verb}\`.` };
  if (rest.length > 0) return { kind: 'invalid', message: 'Give one period, without spaces.' };
  if (period === undefined) return { kind: 'report', from: undefined, to: undefined };
  const range = period.indexOf('..');
  if (range === -1) return { kind: 'report', from: period, to: undefined };
  const from = period.slice(0, range);
  const to = period.slice(range + 2);
  return { kind: 'report', from: from || undefined, to: to || undefined };
}

/** The private sentence for a refused report; `command` is how the platform's user typed it. */
export function reportRefusalText(reason: ReportRefusal, origin: ChatOrigin, command: string): string {
  return reason === 'not_auditor'
    ? `Only members of the policy group \`${AUDITORS_GROUP}\` may run \`${command}\`. Your attempt was recorded in the audit trail.`
    : `Countersign could not read an email address on your ${PLATFORM_NAMES[origin.platform]} profile, so it cannot check that you are an auditor. Your attempt was recorded in the audit trail.`;
}

export interface ReportFile {
  path: string;
  filename: string;
  rows: number;
  summary: ReportSummary;
}

/**
 * Writes the auditor's CSV report (a `report.generated` run with the chat origin) to a temporary
 * file, hands it to `deliver`, and removes it afterwards whatever happens.
 */
export async function withReportFile<T>(
  deps: Deps,
  run: { period: ReportPeriod; email: string; origin: ChatOrigin },
  deliver: (file: ReportFile) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-chat-report-'));
  try {
    const filename = reportFileName(run.period, 'csv');
    const path = join(dir, filename);
    const out = createWriteStream(path);
    const report = await generateReport({
      db: deps.db,
      checkpointKeys: deps.receipts.jwks(),
      period: run.period,
      format: 'csv',
      out,
      actor: run.email,
      origin: run.origin,
      now: () => deps.clock.now(),
    });
    out.end();
    await once(out, 'finish');
    return await deliver({ path, filename, rows: report.rows, summary: report.summary });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How a report command ended: a sentence for the asker, or what the platform's delivery gave. */
export type ReportCommandOutcome<T> =
  | { kind: 'refused'; text: string }
  | { kind: 'bad_period'; message: string }
  | { kind: 'delivered'; value: T };

/**
 * The report command once the platform has parsed it and resolved who asked, for every chat door:
 * the auditor check (a refusal is audited), the period, then the CSV written for `deliver`.
 * `command` is how the platform's user typed it, for the refusal sentence.
 */
export async function runReportCommand<T>(
  deps: Deps,
  input: {
    who: ChatIdentity;
    origin: ChatOrigin;
    text: string;
    command: string;
    period: { from: string | undefined; to: string | undefined };
  },
  deliver: (file: ReportFile, period: ReportPeriod) => Promise<T>,
): Promise<ReportCommandOutcome<T>> {
  const { origin } = input;
  const auditor = await checkAuditor(deps, { email: input.who.email, origin, text: input.text });
  if (!auditor.allowed) {
    return { kind: 'refused', text: reportRefusalText(auditor.reason, origin, input.command) };
  }
  let period: ReportPeriod;
  try {
    period = parseReportPeriod(input.period, deps.clock.now());
  } catch (error) {
    if (!(error instanceof ReportPeriodError)) throw error;
    return { kind: 'bad_period', message: `${error.message}.` };
  }
  const value = await withReportFile(deps, { period, email: auditor.email, origin }, (file) =>
    deliver(file, period),
  );
  return { kind: 'delivered', value };
}
