// JSON written incrementally: {"period":…,"filters":…,"rows":[…],"summary":…}, one row at a time.
import type { Writable } from 'node:stream';
import type { ReportPeriod } from './report-period.ts';
import type { ReportFilters, ReportRow } from './report-rows.ts';
import type { ControlsSection } from './controls.ts';
import type { ReportSummary } from './report-summary.ts';
import { writeChunk } from './write-stream.ts';

export class JsonReportWriter {
  private rows = 0;

  constructor(private readonly out: Writable) {}

  begin(period: ReportPeriod, filters: ReportFilters): Promise<void> {
    const head = {
      period: { from: period.from.toISOString(), to: period.to.toISOString() },
      filters: { action: filters.action ?? null, requester: filters.requester ?? null },
    };
    return writeChunk(this.out, `${JSON.stringify(head).slice(0, -1)},"rows":[`);
  }

  row(row: ReportRow): Promise<void> {
    return writeChunk(this.out, `${this.rows++ === 0 ? '\n' : ',\n'}${JSON.stringify(row)}`);
  }

  /** The summary, and with --controls the control section as `controls`. */
  end(summary: ReportSummary, controls?: ControlsSection): Promise<void> {
    const tail = controls ? `,"controls":${JSON.stringify(controls)}` : '';
    return writeChunk(this.out, `\n],"summary":${JSON.stringify(summary)}${tail}}\n`);
  }
}
