// countersign audit verify — recompute the audit hash chain; exit 0 intact, 1 tampered. With
// --checkpoints, also hold the chain to signed checkpoints kept elsewhere.
// countersign audit checkpoint [export] — sign the chain head now, or write the checkpoints out.
// countersign audit report — the compliance report (spec §8); exit 1 when the chain is not intact.
// It reads the database (DATABASE_URL), or with --url downloads the report from a server.
// countersign audit evidence — the evidence pack for a period: one zip with a signed manifest.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import type { JSONWebKeySet } from 'jose';
import { z } from 'zod';
import packageJson from '../../../../package.json' with { type: 'json' };
import {
  generateReport,
  REPORT_FORMATS,
  type ReportFormat,
} from '../../../server/src/audit/report/generate-report.ts';
import { CONTROL_FRAMEWORKS, type ControlFramework } from '../../../server/src/audit/report/controls.ts';
import { parseReportPeriod, ReportPeriodError } from '../../../server/src/audit/report/report-period.ts';
import { createCheckpoint } from '../../../server/src/audit/create-checkpoint.ts';
import { buildEvidencePack } from '../../../server/src/audit/evidence/build-evidence-pack.ts';
import {
  EvidencePeriodError,
  parseEvidencePeriod,
} from '../../../server/src/audit/evidence/evidence-period.ts';
import { verifyChain } from '../../../server/src/audit/verify-chain.ts';
import {
  listCheckpoints,
  verifyCheckpoints,
  type CheckpointResult,
} from '../../../server/src/audit/verify-checkpoints.ts';
import { ConfigError, loadConfig } from '../../../server/src/config.ts';
import { systemClock } from '../../../server/src/deps.ts';
import { loadReceiptKey } from '../../../server/src/receipts/load-receipt-key.ts';
import { loadReceiptPublicKeys } from '../../../server/src/receipts/load-receipt-public-keys.ts';
import { createReceiptSigner } from '../../../server/src/receipts/sign-receipt.ts';
import { resolveConnection } from '../api-client.ts';
import { cliActor } from '../cli-actor.ts';
import { CliError } from '../cli-error.ts';
import { withDatabase } from '../database-session.ts';
import { reportFromServer, reportSummaryLine } from '../report-from-server.ts';
import { verificationLines, verifyOnServer } from '../verify-on-server.ts';

interface ReportOptions {
  from?: string;
  to?: string;
  format: ReportFormat;
  out?: string;
  action?: string;
  requester?: string;
  controls?: ControlFramework;
  url?: string;
  apiKey?: string;
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

async function readInput(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new CliError(`cannot read ${option} ${path}: ${reason}`, 2);
  }
}

function parseJwks(text: string): JSONWebKeySet {
  try {
    return jwksSchema.parse(JSON.parse(text));
  } catch {
    throw new CliError('--jwks must be a JSON Web Key Set ({"keys": [...]})', 2);
  }
}

const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

function checkpointLine(result: CheckpointResult): string {
  if (result.ok) return `checkpoints: ${result.checked} verified, up to seq ${result.lastSeq ?? '-'}`;
  const where = result.seq === null ? `line ${result.line}` : `seq ${result.seq}`;
  return `CHECKPOINT MISMATCH at ${where} (${result.problem}): ${result.detail}`;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('audit trail commands');

  audit
    .command('verify')
    .description(
      'check the audit hash chain from seq 1, and the requests against it (the database, or with --url a server); exit 0 when intact, 1 when tampered, 3 when the server fails',
    )
    .option('--json', 'print JSON')
    .option(
      '--checkpoints <file>',
      'also check signed checkpoints (JSON lines from `audit checkpoint export`): each signature, and the chain hash at its seq',
    )
    .option(
      '--jwks <file>',
      'with --checkpoints: the receipt public keys (as GET /v1/keys/receipt serves them) instead of the configured or stored key',
    )
    .option(
      '--url <url>',
      'ask this server (GET /v1/audit/verify, a key with audit:read) instead of DATABASE_URL',
    )
    .option('--api-key <key>', 'with --url: API key (default: COUNTERSIGN_API_KEY)')
    .action(
      async (options: {
        json?: boolean;
        checkpoints?: string;
        jwks?: string;
        url?: string;
        apiKey?: string;
      }) => {
        if (options.url !== undefined) {
          if (options.checkpoints !== undefined)
            throw new CliError('--checkpoints checks the database: leave out --url', 2);
          const result = await verifyOnServer({
            ...resolveConnection({ url: options.url, apiKey: options.apiKey }),
            userAgent: `countersign-cli/${packageJson.version}`,
          });
          console.log(options.json ? JSON.stringify(result, null, 2) : verificationLines(result).join('\n'));
          process.exitCode = result.intact ? 0 : 1;
          return;
        }
        if (options.apiKey !== undefined) throw new CliError('--api-key needs --url', 2);
        const showProgress = process.stderr.isTTY && !options.json;
        const checkpointText = options.checkpoints
          ? await readInput(options.checkpoints, '--checkpoints')
          : undefined;
        const jwksText = options.jwks ? await readInput(options.jwks, '--jwks') : undefined;
        const { result, checkpoints } = await withDatabase(async (db) => {
          const chain = await verifyChain(db, {
            onProgress: showProgress ? (n) => process.stderr.write(`\rverified ${n} events…`) : undefined,
            // DATABASE_URL set: a real server, not the embedded one (whose single session a
            // second connection would wait for).
            separateSessions: loadConfig().DATABASE_URL !== undefined,
          });
          if (checkpointText === undefined) return { result: chain, checkpoints: undefined };
          const jwks = jwksText
            ? parseJwks(jwksText)
            : await loadReceiptPublicKeys(loadConfig().COUNTERSIGN_RECEIPT_KEY, db);
          return { result: chain, checkpoints: await verifyCheckpoints(db, checkpointText, jwks) };
        });
        if (showProgress) process.stderr.write('\n');
        const checkpointsOk = checkpoints === undefined || checkpoints.ok;
        process.exitCode = result.intact && checkpointsOk ? 0 : 1;
        if (options.json) {
          console.log(JSON.stringify(checkpoints ? { ...result, checkpoints } : result, null, 2));
          return;
        }
        if (checkpoints) console.log(checkpointLine(checkpoints));
        if (result.intact) {
          console.log(
            `intact: ${result.events} events, last seq ${result.lastSeq ?? '-'}, last hash ${result.lastHash}`,
          );
        } else {
          console.log(`TAMPERED at seq ${result.firstBadSeq} (${result.problem}): ${result.detail}`);
          console.log(`${result.events} events before it verified`);
        }
      },
    );

  const checkpoint = audit
    .command('checkpoint')
    .description('signed checkpoints of the audit chain head (with the receipt key)');
  checkpoint
    .command('create', { isDefault: true })
    .description('sign the chain head now and append the checkpoint to the chain (the default)')
    .option('--json', 'print the checkpoint as one export line')
    .action(async (options: { json?: boolean }) => {
      const created = await withDatabase(async (db, log) => {
        const key = await loadReceiptKey({
          setting: loadConfig().COUNTERSIGN_RECEIPT_KEY,
          databaseUrl: db.url,
          log,
        });
        return createCheckpoint(
          { db, clock: systemClock, receipts: createReceiptSigner(key) },
          { actor: cliActor() },
        );
      });
      if (!created) throw new CliError('no checkpoint was written', 1);
      if (options.json) console.log(JSON.stringify(created));
      else
        console.log(
          `checkpoint: seq ${created.seq}, hash ${created.hash}, at ${created.at}, kid ${created.kid}`,
        );
    });
  checkpoint
    .command('export')
    .description('write every checkpoint in the chain as JSON lines, to keep outside the database')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (options: { out?: string }) => {
      const out: Writable = options.out ? await openOutput(options.out) : process.stdout;
      const lines = await withDatabase((db) => listCheckpoints(db));
      for (const line of lines) out.write(`${JSON.stringify(line)}\n`);
      if (options.out) {
        out.end();
        await once(out, 'finish');
      }
      process.stderr.write(`exported ${lines.length} checkpoint(s)\n`);
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
    .addOption(
      new Option(
        '--controls <framework>',
        'add a section per control of this framework with the evidence held for the period and its ' +
          'status (met, attention with the reason, no evidence in period)',
      ).choices(CONTROL_FRAMEWORKS),
    )
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
          // A signed checkpoint at or before the period is where the chain verification starts.
          checkpointKeys: await loadReceiptPublicKeys(loadConfig().COUNTERSIGN_RECEIPT_KEY, db),
          // DATABASE_URL set: a real server, whose second connection verifies while rows are written.
          separateSessions: loadConfig().DATABASE_URL !== undefined,
          period,
          format: options.format,
          filters: { action: options.action, requester: options.requester },
          controls: options.controls,
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

  audit
    .command('evidence')
    .description(
      'write the evidence pack for a period to a zip: the report (md, csv, json), the chain verification, ' +
        'the latest signed checkpoint, the policy history, directory changes, admin actions, and a ' +
        'manifest of SHA-256 hashes signed with the receipt key; exit 0 when the chain is intact, 1 when not, 2 for bad options',
    )
    .requiredOption('--period <period>', 'a quarter (2026-Q4), a month (2026-11) or a year (2026), UTC')
    .requiredOption('--out <file>', 'the zip to write')
    .addOption(
      new Option('--controls <framework>', "add the framework's control sections to the report").choices(
        CONTROL_FRAMEWORKS,
      ),
    )
    .action(async (options: { period: string; out: string; controls?: ControlFramework }) => {
      let period;
      try {
        period = parseEvidencePeriod(options.period);
      } catch (error) {
        if (error instanceof EvidencePeriodError) throw new CliError(error.message, 2);
        throw error;
      }
      const out = await openOutput(options.out);
      out.on('error', () => undefined);
      const pack = await withDatabase(async (db, log) => {
        const config = loadConfig();
        const key = await loadReceiptKey({
          setting: config.COUNTERSIGN_RECEIPT_KEY,
          databaseUrl: db.url,
          log,
        });
        return buildEvidencePack({
          db,
          period,
          receipts: createReceiptSigner(key),
          jwks: await loadReceiptPublicKeys(config.COUNTERSIGN_RECEIPT_KEY, db),
          controls: options.controls,
          actor: cliActor(),
          now: () => new Date(),
          separateSessions: config.DATABASE_URL !== undefined,
        });
      });
      out.end(pack.zip);
      await once(out, 'finish');
      const { manifest } = pack;
      process.stderr.write(
        `evidence ${manifest.period.name}: ${manifest.files.length + 2} files in ${options.out}, chain ` +
          `${manifest.chainIntact ? 'intact' : 'NOT INTACT'}, manifest signed by ${manifest.kid}\n`,
      );
      process.exitCode = manifest.chainIntact ? 0 : 1;
    });
}
