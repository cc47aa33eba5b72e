// countersign policy check [FILE] — validate a policy file and summarise its rules; with --sample,
// also show which rule a sample request meets and warn about conditions it can never feed.
// policy propose FILE / history / diff A B / test --request: the policy's versions under review
// (approvals/policy/), proposals through the server's API, the rest read from the database.
import type { Command } from 'commander';
import { loadConfig } from '../../../server/src/config.ts';
import { loadPolicyFile, PolicyError } from '../../../server/src/approvals/policy/load-policy.ts';
import { BUILT_IN_POLICY, matchRule, shadowedRules } from '../../../server/src/approvals/policy/policy.ts';
import {
  describeCondition,
  nameOnlyAutoApprovals,
  sampleSubject,
  sampleWarnings,
} from '../../../server/src/approvals/policy/policy-warnings.ts';
import { CliError } from '../cli-error.ts';
import { registerPolicyVersionCommands } from './policy-versions.ts';
import { readSample } from './read-sample.ts';

interface CheckOptions {
  sample?: string;
  key?: string;
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('the policy: files, versions, proposals, dry runs');
  registerPolicyVersionCommands(policy);

  policy
    .command('check')
    .description('validate a policy file (default: COUNTERSIGN_POLICY)')
    .argument('[file]', 'the policy file')
    .option('--sample <request.json>', 'a request body (as POST /v1/approvals takes it) to try the rules on')
    .option('--key <name>', 'with --sample: the name of the API key the sample comes through')
    .action(async (file: string | undefined, options: CheckOptions) => {
      const path = file ?? loadConfig().COUNTERSIGN_POLICY;
      if (!path) {
        console.log(
          `no policy file given and COUNTERSIGN_POLICY is unset: the ${BUILT_IN_POLICY.source} applies`,
        );
        return;
      }
      const sample = options.sample === undefined ? undefined : await readSample(options.sample);
      try {
        const loaded = await loadPolicyFile(path);
        console.log(`${path}: valid, ${loaded.rules.length} rule(s), first match wins:`);
        for (const rule of loaded.rules) {
          const who = rule.refusal
            ? 'denied'
            : rule.autoApprove
              ? 'auto-approved'
              : `${rule.quorum} of ${rule.approvers?.length ?? 'any'} approver(s)`;
          console.log(
            `  ${rule.name}: ${rule.actions.join(', ')} → ${who}, expires in ${rule.expiresInSeconds}s`,
          );
          if (rule.when) console.log(`    when ${describeCondition(rule.when)}`);
          if (rule.keys) console.log(`    only for keys ${rule.keys.join(', ')}`);
          if (rule.refusal) console.log(`    reason shown: ${rule.refusal}`);
        }
        // Valid, but probably not what was meant: say so on stderr without failing the check.
        for (const shadowed of shadowedRules(loaded)) {
          console.error(
            `warning: rule "${shadowed.rule}" (rules[${shadowed.index}]) can never match: ` +
              `an earlier rule ("${shadowed.by}") catches every action it names`,
          );
        }
        for (const warning of nameOnlyAutoApprovals(loaded)) console.error(`warning: ${warning.message}`);
        if (sample) {
          for (const warning of sampleWarnings(loaded, sample)) console.error(`warning: ${warning.message}`);
          const subject = sampleSubject(sample, options.key);
          const rule = subject && matchRule(loaded, subject);
          console.log(
            subject === undefined
              ? `sample ${options.sample}: names no action, so no rule is tried`
              : rule
                ? `sample ${options.sample}: rule "${rule.name}" applies`
                : `sample ${options.sample}: no rule applies (the request would be refused)`,
          );
        }
      } catch (error) {
        if (error instanceof PolicyError) throw new CliError(error.message);
        throw error;
      }
    });
}
