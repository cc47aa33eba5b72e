// countersign policy check [FILE] — validate a policy file and summarise its rules.
import type { Command } from 'commander';
import { loadConfig } from '../../../server/src/config.ts';
import { loadPolicyFile, PolicyError } from '../../../server/src/approvals/policy/load-policy.ts';
import { BUILT_IN_POLICY, shadowedRules } from '../../../server/src/approvals/policy/policy.ts';
import { CliError } from '../cli-error.ts';

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('policy file commands');

  policy
    .command('check')
    .description('validate a policy file (default: COUNTERSIGN_POLICY)')
    .argument('[file]', 'the policy file')
    .action(async (file: string | undefined) => {
      const path = file ?? loadConfig().COUNTERSIGN_POLICY;
      if (!path) {
        console.log(
          `no policy file given and COUNTERSIGN_POLICY is unset: the ${BUILT_IN_POLICY.source} applies`,
        );
        return;
      }
      try {
        const loaded = await loadPolicyFile(path);
        console.log(`${path}: valid, ${loaded.rules.length} rule(s), first match wins:`);
        for (const rule of loaded.rules) {
          const who = rule.autoApprove
            ? 'auto-approved'
            : `${rule.quorum} of ${rule.approvers?.length ?? 'any'} approver(s)`;
          console.log(
            `  ${rule.name}: ${rule.actions.join(', ')} → ${who}, expires in ${rule.expiresInSeconds}s`,
          );
        }
        // Valid, but probably not what was meant: say so on stderr without failing the check.
        for (const shadowed of shadowedRules(loaded)) {
          console.error(
            `warning: rule "${shadowed.rule}" (rules[${shadowed.index}]) can never match: ` +
              `an earlier rule ("${shadowed.by}") catches every action it names`,
          );
        }
      } catch (error) {
        if (error instanceof PolicyError) throw new CliError(error.message);
        throw error;
      }
    });
}
