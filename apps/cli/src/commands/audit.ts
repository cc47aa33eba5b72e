// countersign audit verify — recompute the audit hash chain; exit 0 intact, 1 tampered.
// countersign audit report — the compliance report (spec §8); exit 1 when the chain is not intact.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { userInfo } from 'node:os';
import type { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import {
  generateReport,
  REPORT_FORMATS,
  type ReportFormat,
} from '../../../server/src/audit/report/generate-report.ts';
import { parseReportPeriod, ReportPeriodError } from '../../../server/src/audit/report/report-period.ts';
import { verifyChain } from '../../../server/src/audit/verify-chain.ts';
import { CliError } from '../cli-error.ts';
import { withDatabase } from '../database-session.ts';

/** The OS user running the command, as recorded in the audit log. */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

interface ReportOptions {
  from?: string;
  to?: string;
  format: ReportFormat;
  out?: string;
  action?: string;
  requester?: string;
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
    .description('the compliance report for a period; exit 1 when the audit chain is not intact')
    .option(
      '--from <date>',
      'start: ISO date or datetime, or relative (7d, 24h); default 30 days before --to',
    )
    .option('--to <date>', 'end (excluded): ISO date (the whole day), datetime or relative; default now')
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('csv'))
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--action <glob>', 'only actions matching this glob (* and ?)')
    .option('--requester <email>', 'only requests by this requester')
    .action(async (options: ReportOptions) => {
      let period;
      try {
        period = parseReportPeriod({ from: options.from, to: options.to }, new Date());
      } catch (error) {
        if (error instanceof ReportPeriodError) throw new CliError(error.message, 2);
        throw error;
      }
      const showProgress = process.stderr.isTTY;
      const result = await withDatabase(async (db) => {
        const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
        const report = await generateReport({
          db,
          period,
          format: options.format,
          filters: { action: options.action, requester: options.requester },
          out,
          actor: `cli:${osUser()}`,
          now: () => new Date(),
          onProgress: showProgress ? (n) => process.stderr.write(`\rreport: ${n} rows…`) : undefined,
        });
        if (options.out) {
          out.end();
          await once(out, 'finish');
        }
        return report;
      });
      if (showProgress) process.stderr.write('\n');
      const { chain } = result.summary;
      process.stderr.write(
        chain.intact
          ? `report: ${result.rows} rows; audit chain intact\n`
          : `report: ${result.rows} rows; AUDIT CHAIN NOT INTACT${
              chain.verification.intact
                ? ''
                : ` at seq ${chain.verification.firstBadSeq} (${chain.verification.problem})`
            }\n`,
      );
      process.exitCode = chain.intact ? 0 : 1;
    });
}
