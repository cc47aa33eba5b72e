// The compliance report (spec §8): streams the period's rows to `out` in CSV, JSON or Markdown,
// summarises them, and records the run itself as a `report.generated` audit event.
import type { Writable } from 'node:stream';
import type { Database } from '../../db/client.ts';
import type { JSONWebKeySet } from 'jose';
import { inTransaction } from '../../db/transaction.ts';
import { appendAuditEvent } from '../append-event.ts';
import type { ChatOrigin } from '../event-types.ts';
import type { ReportPeriod } from './report-period.ts';
import {
  evaluateControls,
  shippedControlMapping,
  type ControlFramework,
  type ControlMapping,
  type ControlsSection,
} from './controls.ts';
import { verifyForReport, type ReportVerification } from './report-verification.ts';
import { reportRows, type ReportFilters, type ReportRow } from './report-rows.ts';
import { completeSummary, SummaryAccumulator, type ReportSummary } from './report-summary.ts';
import { CsvReportWriter } from './write-csv.ts';
import { JsonReportWriter } from './write-json.ts';
import { MarkdownReportWriter } from './write-markdown.ts';
import {
  exportSnapshot,
  hasSecondConnection,
  inImportedSnapshot,
  inReadSnapshot,
  type ReadSnapshot,
} from '../../db/read-snapshot.ts';

export const REPORT_FORMATS = ['csv', 'json', 'md'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const REPORT_CONTENT_TYPES: Record<ReportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  json: 'application/json; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
};

export interface GenerateReportInput {
  db: Database;
  period: ReportPeriod;
  format: ReportFormat;
  filters?: ReportFilters;
  /** Adds a section per control of this framework with its evidence and status (controls.yaml). */
  controls?: ControlFramework | undefined;
  out: Writable;
  /** Who runs the report, recorded in the audit log: `cli:<os user>` or `client:<id>`. */
  actor: string;
  /** The chat command that asked for the run, when it came from chat. */
  origin?: ChatOrigin;
  /** When the run is recorded. */
  now: () => Date;
  /** Called every PROGRESS_EVERY rows and at the end with the rows written so far. */
  onProgress?: (rows: number) => void;
  /**
   * The receipt public keys: a signed checkpoint at or before the period that verifies against
   * them is where the chain verification starts. Without them it starts at seq 1.
   */
  checkpointKeys?: JSONWebKeySet;
  /**
   * The pool's connections are Postgres sessions of their own (not the embedded PGlite's one
   * shared session): the chain is then verified on a second connection in the report's snapshot
   * while the rows are written.
   */
  separateSessions?: boolean;
}

export interface GenerateReportResult {
  rows: number;
  summary: ReportSummary;
  controls?: ControlsSection;
}

const PROGRESS_EVERY = 500;

export async function generateReport(input: GenerateReportInput): Promise<GenerateReportResult> {
  // Rows and summary come from one snapshot, so the numbers agree with the rows whatever is
  // decided while the report runs; the run is recorded after it.
  // A wrong mapping file stops the run before anything is written.
  const mapping = input.controls ? shippedControlMapping() : undefined;
  const result = await inReadSnapshot(input.db, async (client) => {
    if (!input.separateSessions || !hasSecondConnection(input.db))
      return writeReport(client, input, mapping, () =>
        verifyForReport(client, input.period, input.checkpointKeys),
      );
    const running = inImportedSnapshot(input.db, await exportSnapshot(client), (other) =>
      verifyForReport(other, input.period, input.checkpointKeys),
    );
    // Settled before the snapshot's transaction ends, whatever happens to the rows.
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await writeReport(client, input, mapping, () => running);
    } finally {
      await settled;
    }
  });
  await recordReportRun(input.db, {
    ...input,
    filters: input.filters ?? {},
    rows: result.rows,
    chainIntact: result.summary.chain.intact,
    controls: result.controls,
  });
  return result;
}

async function writeReport(
  db: ReadSnapshot,
  input: GenerateReportInput,
  mapping: ControlMapping | undefined,
  verify: () => Promise<ReportVerification>,
): Promise<GenerateReportResult> {
  const { period, format, out, onProgress } = input;
  const controlsOf = (summary: ReportSummary) =>
    input.controls && mapping ? evaluateControls(input.controls, summary, mapping) : undefined;
  const withControls = (rows: number, summary: ReportSummary, controls: ControlsSection | undefined) =>
    controls ? { rows, summary, controls } : { rows, summary };
  const filters = input.filters ?? {};
  const acc = new SummaryAccumulator();
  const stream = async (write: (row: ReportRow) => Promise<void>) => {
    let count = 0;
    for await (const row of reportRows(db, period, filters)) {
      await write(row);
      if (++count % PROGRESS_EVERY === 0) onProgress?.(count);
    }
    onProgress?.(count);
    return count;
  };

  if (format === 'md') {
    // Markdown puts the summary first: one pass to summarise, a second (same snapshot) to write the rows.
    await stream((row) => {
      acc.add(row);
      return Promise.resolve();
    });
    const summary = await completeSummary(db, period, filters, acc, verify);
    const controls = controlsOf(summary);
    const writer = new MarkdownReportWriter(out);
    await writer.begin(period, filters, summary, controls);
    return withControls(await stream((row) => writer.row(row)), summary, controls);
  }
  if (format === 'json') {
    const writer = new JsonReportWriter(out);
    await writer.begin(period, filters);
    const rows = await stream(async (row) => {
      acc.add(row);
      await writer.row(row);
    });
    const summary = await completeSummary(db, period, filters, acc, verify);
    const controls = controlsOf(summary);
    await writer.end(summary, controls);
    return withControls(rows, summary, controls);
  }
  const writer = new CsvReportWriter(out);
  await writer.begin(period);
  const rows = await stream(async (row) => {
    acc.add(row);
    await writer.row(row);
  });
  const summary = await completeSummary(db, period, filters, acc, verify);
  const controls = controlsOf(summary);
  await writer.end(summary, controls);
  return withControls(rows, summary, controls);
}

async function recordReportRun(
  db: Database,
  run: Pick<GenerateReportInput, 'period' | 'format' | 'actor' | 'origin' | 'now'> & {
    filters: ReportFilters;
    rows: number;
    chainIntact: boolean;
    controls: ControlsSection | undefined;
  },
): Promise<void> {
  const tally = (status: ControlsSection['controls'][number]['status']) =>
    run.controls?.controls.filter((c) => c.status === status).length ?? 0;
  const now = run.now();
  await inTransaction(db, (tx) =>
    appendAuditEvent(
      tx,
      {
        type: 'report.generated',
        actor: run.actor,
        payload: {
          from: run.period.from.toISOString(),
          to: run.period.to.toISOString(),
          format: run.format,
          filters: { action: run.filters.action ?? null, requester: run.filters.requester ?? null },
          rows: run.rows,
          chainIntact: run.chainIntact,
          ...(run.origin ? { origin: run.origin } : {}),
          ...(run.controls
            ? {
                controls: {
                  framework: run.controls.framework,
                  met: tally('met'),
                  attention: tally('attention'),
                  noEvidence: tally('no evidence in period'),
                },
              }
            : {}),
        },
      },
      now,
    ),
  );
}
