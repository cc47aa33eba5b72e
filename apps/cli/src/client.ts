// The pipeline client: `request`, `audit report --url` and `audit verify --url`, talking to a
// server over HTTP only. Bundled into the single file served at GET /cli/countersign.mjs, so it
// must not import database code (see apps/server/src/cli-bundle/bundle-client.ts).
import { Command, CommanderError, Option } from 'commander';
import packageJson from '../../../package.json' with { type: 'json' };
import type { ReportFormat } from '../../server/src/audit/report/generate-report.ts';
import { parseReportPeriod, ReportPeriodError } from '../../server/src/audit/report/report-period.ts';
import { resolveConnection } from './api-client.ts';
import { CliError } from './cli-error.ts';
import { registerRequestCommand } from './commands/request.ts';
import { reportFromServer, reportSummaryLine, type RemoteReportOptions } from './report-from-server.ts';
import { verificationLines, verifyOnServer } from './verify-on-server.ts';

// Not imported from generate-report.ts, which carries database code; the type keeps them in step.
const REPORT_FORMATS = ['csv', 'json', 'md'] as const satisfies readonly ReportFormat[];

const program = new Command()
  .name('countersign')
  .description('Countersign client: ask for approvals and fetch audit reports from a server')
  .version(packageJson.version)
  .showHelpAfterError()
  .exitOverride();

registerRequestCommand(program);
const audit = program.command('audit').description('audit trail, from a server');
audit
  .command('verify')
  .description('have the server check the audit hash chain; exit 0 intact, 1 tampered, 3 server error')
  .requiredOption('--url <url>', 'the server (GET /v1/audit/verify, a key with audit:read)')
  .option('--api-key <key>', 'API key (default: COUNTERSIGN_API_KEY)')
  .option('--json', 'print JSON')
  .action(async (options: { url: string; apiKey?: string; json?: boolean }) => {
    const result = await verifyOnServer({
      ...resolveConnection({ url: options.url, apiKey: options.apiKey }),
      userAgent: `countersign-client/${packageJson.version}`,
    });
    console.log(options.json ? JSON.stringify(result, null, 2) : verificationLines(result).join('\n'));
    process.exitCode = result.intact ? 0 : 1;
  });
audit
  .command('report')
  .description('download the compliance report; exit 0 chain intact, 1 not, 2 bad option, 3 server error')
  .requiredOption('--url <url>', 'the server (GET /v1/audit/report, a key with audit:read)')
  .option('--api-key <key>', 'API key (default: COUNTERSIGN_API_KEY)')
  .option('--from <date>', 'start: ISO date or datetime, or relative (7d, 24h)')
  .option('--to <date>', 'end (excluded): ISO date (the whole day), datetime or relative')
  .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('csv'))
  .option('--out <file>', 'write to this file instead of stdout')
  .option('--action <glob>', 'only actions matching this glob (* and ?)')
  .option('--requester <email>', 'only requests by this requester')
  .action(async (options: RemoteReportOptions) => {
    try {
      parseReportPeriod({ from: options.from, to: options.to }, new Date());
    } catch (error) {
      if (error instanceof ReportPeriodError) throw new CliError(error.message, 2);
      throw error;
    }
    const status = await reportFromServer(options);
    process.stderr.write(reportSummaryLine(status));
    process.exitCode = status.intact ? 0 : 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander's own exit 1 (unknown option, bad choice) is a bad option: 2, as documented;
    // `request` maps its own to 3 before it gets here.
    process.exitCode = error.exitCode === 1 ? 2 : error.exitCode;
  } else if (error instanceof CliError) {
    console.error(`countersign: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    console.error('countersign:', error instanceof Error ? error.message : error);
    process.exitCode = 3;
  }
}
