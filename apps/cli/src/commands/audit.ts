// countersign audit verify — recompute the audit hash chain; exit 0 intact, 1 tampered.
import type { Command } from 'commander';
import { verifyChain } from '../../../server/src/audit/verify-chain.ts';
import { withDatabase } from '../database-session.ts';

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
}
