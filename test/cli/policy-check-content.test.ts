// `countersign policy check` on rules that decide on content: conditions listed, a start-up error
// for a name-only auto-approval with its line, a warning for an auto-approval on claimed names, and
// `--sample request.json` naming the rule a sample meets and the pointers it never has.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';

const POLICY = `rules:
  - name: public
    actions: [db.export]
    deny: true
    reason: no public buckets
    when: { context: /destination, glob: "s3://public-*" }
  - name: big
    actions: [db.export]
    approvers: [bob@example.com, carol@example.com]
    quorum: 2
    when: { any: [{ context: /rows, gt: 10000 }, { context: /tables/0/pii, equals: true }] }
  - name: exports
    actions: [db.export]
    approvers: [bob@example.com]
  - name: bot-reads
    actions: ["*.read"]
    autoApprove: true
    when: { agent: name, equals: report-bot }
`;

describe('countersign policy check on content rules', () => {
  const files: TempPolicyFile[] = [];
  const env = cliEnv({});
  async function policyFile(text: string): Promise<TempPolicyFile> {
    const file = await writeTempPolicy(text);
    files.push(file);
    return file;
  }
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await Promise.all(files.map((f) => f.remove()));
  });

  it('lists conditions, and warns on an auto-approval that looks only at names the caller picks', async () => {
    const file = await policyFile(POLICY);
    const result = await runCli(['policy', 'check', file.path], env);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain('  public: db.export → denied, expires in 3600s');
    expect(result.stdout).toContain('    when context /destination glob "s3://public-*"');
    expect(result.stdout).toContain('    reason shown: no public buckets');
    expect(result.stdout).toContain(
      '    when any(context /rows gt 10000, context /tables/0/pii equals true)',
    );
    expect(result.stderr.trim().split('\n')).toEqual([
      'warning: auto-approve rule "bot-reads" (rules[3]) matches on names the caller chooses (the action, requester or agent) alone: add a when: on the context or keys: [...]',
    ]);
  });

  it('refuses an auto-approve rule on the action name alone, naming its line', async () => {
    const file = await policyFile(
      'rules:\n  - name: reads\n    actions: ["*.read"]\n    autoApprove: true\n',
    );
    const result = await runCli(['policy', 'check', file.path], env);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(
      'line 4, column 18: rules[0].autoApprove: autoApprove rule "reads" needs a when: condition or keys: [...]',
    );
  });

  it('--sample names the rule the sample meets and the pointers it never has', async () => {
    const file = await policyFile(POLICY);
    const sample = join(dirname(file.path), 'request.json');
    await writeFile(
      sample,
      JSON.stringify({
        action: 'db.export',
        requester: { email: 'a@example.com' },
        context: { rows: 50000 },
      }),
    );
    const result = await runCli(['policy', 'check', file.path, '--sample', sample], env);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain(`sample ${sample}: rule "big" applies`);
    const warnings = result.stderr.trim().split('\n');
    expect(warnings).toContain(
      'warning: rule "public" (rules[0]) looks at context /destination, which the sample request does not have',
    );
    expect(warnings).toContain(
      'warning: rule "big" (rules[1]) looks at context /tables/0/pii, which the sample request does not have',
    );
    expect(warnings.filter((w) => w.includes('/rows'))).toEqual([]);
  });

  it('--sample that is not JSON: exit 1, nothing checked', async () => {
    const file = await policyFile(POLICY);
    const sample = join(dirname(file.path), 'broken.json');
    await writeFile(sample, '{ not json');
    const result = await runCli(['policy', 'check', file.path, '--sample', sample], env);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(`cannot read the sample request ${sample}`);
    expect(result.stdout).toBe('');
  });
});
