// `audit report --url`: the report streamed from a server (GET /v1/audit/report), its chain status
// read from the HTTP trailers. No database code, so the single-file client can carry it.
import { createWriteStream } from 'node:fs';
import packageJson from '../../../package.json' with { type: 'json' };
import type { ReportFormat } from '../../server/src/audit/report/generate-report.ts';
import { API_ERROR_EXIT_CODE, resolveConnection } from './api-client.ts';
import { CliError } from './cli-error.ts';
import { downloadReport, type ReportChainStatus } from './report-download.ts';

export interface RemoteReportOptions {
  from?: string;
  to?: string;
  format: ReportFormat;
  out?: string;
  action?: string;
  requester?: string;
  controls?: string;
  url: string;
  apiKey?: string;
}

/** The last stderr line of a report run, the same in both modes. */
export function reportSummaryLine(status: ReportChainStatus): string {
  if (status.intact) return `report: ${status.rows} rows; audit chain intact\n`;
  const where =
    status.firstBadSeq === undefined ? '' : ` at seq ${status.firstBadSeq} (${status.problem ?? '?'})`;
  return `report: ${status.rows} rows; AUDIT CHAIN NOT INTACT${where}\n`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

const PROGRESS_STEP_BYTES = 64 * 1024;

/** Server mode: GET /v1/audit/report, streamed to --out or stdout; the status comes in trailers. */
export async function reportFromServer(options: RemoteReportOptions): Promise<ReportChainStatus> {
  if (options.url.trim() === '') throw new CliError('--url must be an http(s) URL', API_ERROR_EXIT_CODE);
  const connection = resolveConnection({ url: options.url, apiKey: options.apiKey });
  // On a TTY: bytes received on stderr, redrawn every PROGRESS_STEP_BYTES, then the total.
  const showProgress = process.stderr.isTTY;
  let shownStep: number | undefined;
  const showBytes = (bytes: number, final = false) => {
    const step = Math.floor(bytes / PROGRESS_STEP_BYTES);
    if (step === shownStep && !final) return;
    shownStep = step;
    process.stderr.write(`\rreport: ${formatBytes(bytes)} received${final ? ' ' : '…'}`);
  };
  const { out } = options;
  try {
    const result = await downloadReport(
      { ...connection, userAgent: `countersign-cli/${packageJson.version}` },
      {
        from: options.from,
        to: options.to,
        format: options.format,
        action: options.action,
        requester: options.requester,
        controls: options.controls,
      },
      out
        ? { open: () => createWriteStream(out), end: true, name: out }
        : { open: () => process.stdout, end: false, name: 'stdout' },
      showProgress ? showBytes : undefined,
    );
    if (showProgress) showBytes(result.bytes, true);
    return result;
  } finally {
    if (shownStep !== undefined) process.stderr.write('\n');
  }
}
