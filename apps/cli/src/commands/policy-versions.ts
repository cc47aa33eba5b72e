// countersign policy propose | history | diff | test — the policy in force lives in the database
// with its versions; a change is proposed (POST /v1/policy/proposals) and decided by two of the
// policy's policy-admins. `test` is a dry run of a sample request under the version in force, a
// stored version, or a proposed file.
import type { Command } from 'commander';
import packageJson from '../../../../package.json' with { type: 'json' };
import { compileVersion } from '../../../server/src/approvals/policy/establish-policy.ts';
import {
  loadPolicyFile,
  PolicyError,
  readPolicyText,
} from '../../../server/src/approvals/policy/load-policy.ts';
import { BUILT_IN_POLICY, type Policy } from '../../../server/src/approvals/policy/policy.ts';
import { diffPolicyText } from '../../../server/src/approvals/policy/policy-diff.ts';
import { dryRunRequest, type DryRun } from '../../../server/src/approvals/policy/policy-dry-run.ts';
import {
  listVersions,
  readActiveVersion,
  readVersion,
  type PolicyVersionRow,
} from '../../../server/src/approvals/policy/policy-store.ts';
import { createApiClient, resolveConnection } from '../api-client.ts';
import { CliError } from '../cli-error.ts';
import { withDatabase } from '../database-session.ts';
import { readSample } from './read-sample.ts';

interface ConnectionFlags {
  url?: string;
  apiKey?: string;
}

function versionNumber(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

async function storedVersion(version: number): Promise<PolicyVersionRow> {
  const row = await withDatabase((db) => readVersion(db, version));
  if (!row) throw new CliError(`no policy version ${version} is stored (see countersign policy history)`);
  return row;
}

/** A side of `policy diff`: a stored version's number, or a file. */
async function diffSide(ref: string): Promise<{ label: string; text: string }> {
  const version = versionNumber(ref);
  if (version !== undefined)
    return { label: `version ${version}`, text: (await storedVersion(version)).text };
  try {
    return { label: ref, text: await readPolicyText(ref) };
  } catch (error) {
    if (error instanceof PolicyError) throw new CliError(error.message);
    throw error;
  }
}

function printDryRun(run: DryRun): void {
  console.log(`policy: ${run.policy}${run.version === null ? '' : ` (version ${run.version})`}`);
  console.log(`outcome: ${run.outcome}${run.rule ? ` under rule "${run.rule}"` : ''}`);
  if (run.detail) console.log(`  ${run.detail}`);
  if (run.outcome === 'needs-approval' || run.outcome === 'auto-approved') {
    console.log(
      `approvers: ${run.approvers === 'anyone' ? 'anyone but the requester' : run.approvers.join(', ')}`,
    );
    console.log(`quorum: ${run.quorum}`);
    console.log(`channels: ${run.channels.length > 0 ? run.channels.join(', ') : '(API only)'}`);
    const masked = [
      ...run.masking.sensitive,
      ...(run.masking.personalData ? ['personal data (pii)'] : []),
      ...(run.masking.requesterName ? ['requester name'] : []),
    ];
    console.log(`masking: ${masked.length > 0 ? masked.join(', ') : 'secrets only'}`);
    console.log(`expires in: ${run.expiresInSeconds}s`);
  }
  for (const tried of run.tried) {
    const when =
      tried.when === null
        ? 'no when:'
        : `when ${tried.when} → ${tried.whenHolds ? 'holds' : 'does not hold'}`;
    console.log(`  rule "${tried.rule}": ${when}${tried.keysHold ? '' : ', keys: not this key'}`);
  }
}

const NO_VERSION = 'no policy version is stored: the server adopts COUNTERSIGN_POLICY at its first start';

/** `policy history --url`: the same lines, oldest first, from the server's GET /v1/policy/versions. */
async function printHistoryFromServer(options: ConnectionFlags & { json?: boolean }): Promise<void> {
  const client = createApiClient({
    ...resolveConnection(options),
    userAgent: `countersign-cli/${packageJson.version}`,
  });
  const versions = (await client.listPolicyVersions()).reverse();
  if (options.json) {
    console.log(JSON.stringify(versions, null, 2));
    return;
  }
  if (versions.length === 0) {
    console.log(NO_VERSION);
    return;
  }
  for (const v of versions) {
    const how =
      v.kind === 'changed'
        ? `proposed by ${v.proposer ?? 'unknown'}, approved by ${v.approvers.join(', ')} (proposal ${v.proposalId ?? ''})`
        : `adopted from ${v.source}`;
    console.log(`version ${v.version}  ${v.at}  ${v.digest}  ${how}`);
  }
}

export function registerPolicyVersionCommands(policy: Command): void {
  policy
    .command('propose')
    .description('propose FILE as the next policy version: two of policy-admins must approve it')
    .argument('<file>', 'the complete new policy file')
    .option('--requester <email>', 'who proposes (may be left out with a key bound to one requester)')
    .option('--reason <text>', 'why, shown to the reviewers')
    .option('--url <url>', 'server URL (default: COUNTERSIGN_URL)')
    .option('--api-key <key>', 'an API key with the admin scope (default: COUNTERSIGN_API_KEY)')
    .option('--json', 'print JSON')
    .action(
      async (
        file: string,
        options: ConnectionFlags & { requester?: string; reason?: string; json?: boolean },
      ) => {
        const text = await diffSide(file).then((side) => side.text);
        const client = createApiClient({
          ...resolveConnection(options),
          userAgent: `countersign-cli/${packageJson.version}`,
        });
        const answer = await client.proposePolicy({
          policy: text,
          ...(options.requester ? { requester: { email: options.requester } } : {}),
          ...(options.reason ? { reason: options.reason } : {}),
        });
        if (options.json) {
          console.log(JSON.stringify(answer, null, 2));
          return;
        }
        console.log(
          `Proposed: approval request ${answer.approval.id} (policy.change), ${answer.approval.quorum} approvals needed from ${answer.approval.approvers.join(', ')}`,
        );
        console.log(answer.proposal.diff.trimEnd());
      },
    );

  policy
    .command('history')
    .description('every stored policy version: who adopted or approved it, and when')
    .option('--url <url>', 'read it from this server (GET /v1/policy/versions) instead of DATABASE_URL')
    .option('--api-key <key>', 'with --url: an API key with the admin scope (default: COUNTERSIGN_API_KEY)')
    .option('--json', 'print JSON')
    .action(async (options: ConnectionFlags & { json?: boolean }) => {
      if (options.url !== undefined) {
        await printHistoryFromServer(options);
        return;
      }
      const rows = await withDatabase((db) => listVersions(db));
      if (options.json) {
        console.log(
          JSON.stringify(
            rows.map(({ text: _text, ...row }) => row),
            null,
            2,
          ),
        );
        return;
      }
      if (rows.length === 0) {
        console.log(NO_VERSION);
        return;
      }
      for (const row of rows) {
        const how = row.proposalId
          ? `approved by ${row.adoptedBy} (proposal ${row.proposalId})`
          : `adopted from ${row.source}`;
        console.log(`version ${row.version}  ${row.createdAt.toISOString()}  ${row.digest}  ${how}`);
      }
    });

  policy
    .command('diff')
    .description('the changes between two versions (numbers) or files')
    .argument('<a>', 'a version number or a file')
    .argument('<b>', 'a version number or a file')
    .action(async (a: string, b: string) => {
      const [from, to] = [await diffSide(a), await diffSide(b)];
      const diff = diffPolicyText(from.text, to.text, from.label, to.label);
      process.stdout.write(diff === '' ? `${from.label} and ${to.label} are identical\n` : diff);
    });

  policy
    .command('test')
    .description(
      'dry run: what a request would get (rule, approvers, quorum, channels, masking, expiry, when:)',
    )
    .requiredOption('--request <sample.json>', 'a request body, as POST /v1/approvals takes it')
    .option('--proposed <file>', 'under this proposed policy file instead of the version in force')
    .option('--version <n>', 'under this stored version instead of the version in force')
    .option('--key <name>', 'the name of the API key the request comes through (for keys: rules)')
    .option('--json', 'print JSON')
    .action(
      async (options: {
        request: string;
        proposed?: string;
        version?: string;
        key?: string;
        json?: boolean;
      }) => {
        const sample = await readSample(options.request);
        const governing = await policyToTest(options);
        const run = dryRunRequest(governing, sample, options.key);
        if (options.json) console.log(JSON.stringify(run, null, 2));
        else printDryRun(run);
      },
    );
}

async function policyToTest(options: { proposed?: string; version?: string }): Promise<Policy> {
  if (options.proposed) {
    try {
      return await loadPolicyFile(options.proposed);
    } catch (error) {
      if (error instanceof PolicyError) throw new CliError(error.message);
      throw error;
    }
  }
  if (options.version !== undefined) {
    const version = versionNumber(options.version);
    if (version === undefined) throw new CliError('--version must be a version number');
    return compileVersion(await storedVersion(version));
  }
  const active = await withDatabase((db) => readActiveVersion(db));
  return active ? compileVersion(active) : BUILT_IN_POLICY;
}
