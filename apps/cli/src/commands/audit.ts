// countersign audit verify — recompute the audit hash chain; exit 0 intact, 1 tampered.
// countersign audit report — the compliance report (spec §8); exit 1 when the chain is not intact.
// It reads the database (DATABASE_URL), or with --url downloads the report from a server.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import packageJson from '../../../../package.json' with { type: 'json' };
import {
  generateReport,
  REPORT_FORMATS,
  type ReportFormat,
} from '../../../server/src/audit/report/generate-report.ts';
import { parseReportPeriod, ReportPeriodError } from '../../../server/src/audit/report/report-period.ts';
import { verifyChain } from '../../../server/src/audit/verify-chain.ts';
import { ConfigError } from '../../../server/src/config.ts';
import { API_ERROR_EXIT_CODE, resolveConnection } from '../api-client.ts';
import { cliActor } from '../cli-actor.ts';
import { CliError } from '../cli-error.ts';
import { withDatabase } from '../database-session.ts';
import { downloadReport, type ReportChainStatus } from '../report-download.ts';

/** The OS user running the command, as recorded in the audit log. */

interface ReportOptions {
  from?: string;
  to?: string;
  format: ReportFormat;
  out?: string;
  action?: string;
  requester?: string;
  url?: string;
  apiKey?: string;
}

/** The last stderr line of a report run, the same in both modes. */
function reportSummaryLine(status: ReportChainStatus): string {
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
async function reportFromServer(options: ReportOptions & { url: string }): Promise<ReportChainStatus> {
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

/** Opens --out before any work, so a path that cannot be written fails at once (exit 2). */
async function openOutput(path: string): Promise<Writable> {
  const stream = createWriteStream(path);
  try {
    await once(stream, 'open');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new CliError(`cannot write --out ${path}: ${reason}`, 2);
  }
  return stream;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('audit trail commands');

  audit
    .command('verify')
    .description('check the audit hash chain; exit 0 when intact, 1 when tampered')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const showProgress = process.stderr.isTTY && !options.json;
      const result = await withDatabase((db) =>
        verifyChain(db.pool, {
          onProgress: showProgress ? (n) => process.stderr.write(`\rverified ${n} events…`) : undefined,
        }),
      );
      if (showProgress) process.stderr.write('\n');
      if (options.json) console.log(JSON.stringify(result, null, 2));
      else if (result.intact) {
        console.log(
          `intact: ${result.events} events, last seq ${result.lastSeq ?? '-'}, last hash ${result.lastHash}`,
        );
      } else {
        console.log(`TAMPERED at seq ${result.firstBadSeq} (${result.problem}): ${result.detail}`);
        console.log(`${result.events} events before it verified`);
      }
      process.exitCode = result.intact ? 0 : 1;
    });

  audit
    .command('report')
    .description(
      'the compliance report for a period, from the database (DATABASE_URL) or with --url from a ' +
        'server; exit 0 when the audit chain is intact, 1 when not, 2 for a bad period, 3 when the ' +
        'server fails or the download is incomplete',
    )
    .option(
      '--from <date>',
      'start: ISO date or datetime, or relative (7d, 24h); default 30 days before --to',
    )
    .option('--to <date>', 'end (excluded): ISO date (the whole day), datetime or relative; default now')
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('csv'))
    .option('--out <file>', 'write to this file instead of stdout (also when the chain is not intact)')
    .option('--action <glob>', 'only actions matching this glob (* and ?)')
    .option('--requester <email>', 'only requests by this requester')
    .option(
      '--url <url>',
      'download the report from this server (GET /v1/audit/report, a key with audit:read) instead ' +
        'of reading DATABASE_URL; --from/--to are checked here and sent as typed (relative periods ' +
        "count back from the server's clock); COUNTERSIGN_URL alone does not switch modes",
    )
    .option('--api-key <key>', 'with --url: API key (default: COUNTERSIGN_API_KEY)')
    .action(async (options: ReportOptions) => {
      let period;
      try {
        period = parseReportPeriod({ from: options.from, to: options.to }, new Date());
      } catch (error) {
        if (error instanceof ReportPeriodError) throw new CliError(error.message, 2);
        throw error;
      }
      if (options.url !== undefined) {
        const status = await reportFromServer({ ...options, url: options.url });
        process.stderr.write(reportSummaryLine(status));
        process.exitCode = status.intact ? 0 : 1;
        return;
      }
      if (options.apiKey !== undefined) {
        throw new CliError('--api-key needs --url: without --url the report reads DATABASE_URL', 2);
      }
      const showProgress = process.stderr.isTTY;
      const out: Writable = options.out ? await openOutput(options.out) : process.stdout;
      // Failures surface through writeChunk; without a listener an 'error' event would crash the CLI.
      out.on('error', () => undefined);
      const result = await withDatabase(async (db) => {
        const report = await generateReport({
          db,
          period,
          format: options.format,
          filters: { action: options.action, requester: options.requester },
          out,
          actor: cliActor(),
          now: () => new Date(),
          onProgress: showProgress ? (n) => process.stderr.write(`\rreport: ${n} rows…`) : undefined,
        });
        if (options.out) {
          out.end();
          await once(out, 'finish');
        }
        return report;
      }).catch((error: unknown) => {
        if (error instanceof CliError || error instanceof ConfigError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new CliError(
          `the report failed (${reason}); ${options.out ?? 'stdout'} holds an incomplete report`,
          3,
        );
      });
      if (showProgress) process.stderr.write('\n');
      const { chain } = result.summary;
      const { verification } = chain;
      process.stderr.write(
        reportSummaryLine(
          chain.intact
            ? { rows: result.rows, intact: true }
            : {
                rows: result.rows,
                intact: false,
                firstBadSeq: verification.intact ? undefined : verification.firstBadSeq,
                problem: verification.intact ? undefined : verification.problem,
              },
        ),
      );
      process.exitCode = chain.intact ? 0 : 1;
    });
}
