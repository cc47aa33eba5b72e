// `countersign policy check [FILE]` (spec §7): the real command in a child process.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { SPEC_POLICY_YAML, writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';

describe('countersign policy check', () => {
  const files: TempPolicyFile[] = [];
  const env = cliEnv({});
  let valid: TempPolicyFile;

  async function policyFile(text: string): Promise<TempPolicyFile> {
    const file = await writeTempPolicy(text);
    files.push(file);
    return file;
  }

  beforeAll(async () => {
    valid = await policyFile(SPEC_POLICY_YAML);
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await Promise.all(files.map((f) => f.remove()));
  });

  it('a valid file: exit 0, and every rule listed in match order', async () => {
    const result = await runCli(['policy', 'check', valid.path], env);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain(`${valid.path}: valid, 3 rule(s), first match wins:`);
    const lines = result.stdout.split('\n');
    const ruleLines = lines.filter((line) => /^ {2}\S/.test(line));
    expect(ruleLines).toEqual([
      '  data-exports: db.export, db.export.* → 1 of 2 approver(s), expires in 3600s',
      '  privilege-escalation: iam.* → 2 of 3 approver(s), expires in 1800s',
      '  read-only: *.read → auto-approved, expires in 3600s',
    ]);
    expect(result.stderr).toBe('');
  });

  it('without FILE it checks COUNTERSIGN_POLICY', async () => {
    const result = await runCli(['policy', 'check'], cliEnv({ COUNTERSIGN_POLICY: valid.path }));
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain(`${valid.path}: valid, 3 rule(s)`);
  });

  it('without FILE and without COUNTERSIGN_POLICY it says the built-in default applies', async () => {
    const result = await runCli(['policy', 'check'], env);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toMatch(/built-in default/);
  });

  it.each([
    {
      what: 'wrong type',
      text: 'rules:\n  - name: a\n    actions: [x]\n    approvers: [bob@example.com]\n    quorum: "two"\n',
      expected: 'line 5, column 13: rules[0].quorum:',
    },
    {
      what: 'unknown field',
      text: 'groups: {}\nrulez: []\n',
      expected: 'line 2, column 1: rulez: unknown field',
    },
    {
      what: 'unknown group',
      text: 'rules:\n  - name: a\n    actions: [x]\n    approvers: [group:nope]\n',
      expected: 'line 4, column 17: rules[0].approvers[0]: unknown group "nope"',
    },
    {
      what: 'YAML syntax error',
      text: 'rules:\n  - name: a\n    actions: [db.export\n    approvers: [bob@example.com]\n',
      expected: 'line 4, column 5: (yaml):',
    },
  ])('an invalid file ($what): exit 1, with the line and the field', async ({ text, expected }) => {
    const file = await policyFile(text);
    const result = await runCli(['policy', 'check', file.path], env);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(`${file.path}: invalid policy`);
    expect(result.stderr).toContain(expected);
    expect(result.stdout).not.toContain('valid,');
  });

  it('a missing file: exit 1, "file not found"', async () => {
    const missing = `${valid.path}.missing`;
    const result = await runCli(['policy', 'check', missing], env);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(missing);
    expect(result.stderr).toContain('file not found');
  });
});
