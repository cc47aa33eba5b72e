// countersign policy history / diff / test / propose against a real server and its database.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { cliEnv, describeRun, runCli } from '../support/cli.ts';
import { testDeps } from '../support/use-case-fixtures.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const V1 = `groups:
  policy-admins: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - name: small-reads
    actions: ["db.read"]
    autoApprove: true
    when: { context: /rows, lte: 100 }
  - name: reads
    actions: ["db.*"]
    approvers: [bob@example.com]
    expiresIn: 30m
`;

describe('countersign policy history, diff, test and propose', { timeout: 240_000 }, () => {
  let file: TempPolicyFile;
  let t: TestServer;
  let adminKey: string;
  let dir: string;
  let proposalRequest: string;

  beforeAll(async () => {
    file = await writeTempPolicy(V1);
    dir = join(file.path, '..');
    t = await startTestServer({ env: { COUNTERSIGN_POLICY: file.path } });
    adminKey = (await t.createKey('cli-admin', ['admin'])).key;
    await writeFile(join(dir, 'sample.json'), JSON.stringify({ action: 'db.read', context: { rows: 5000 } }));
    await writeFile(
      join(dir, 'next.yaml'),
      V1.replace('approvers: [bob@example.com]', 'approvers: [carol@example.com]'),
    );
    await writeFile(join(dir, 'broken.yaml'), `${V1}    quorum: none\n`);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await file?.remove();
  });

  const env = () => cliEnv({ DATABASE_URL: t.database.url });

  it('history lists the adopted version', async () => {
    const result = await runCli(['policy', 'history'], env());
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toMatch(/^version 1 .* sha256:[0-9a-f]{64}\s+adopted from /m);
  });

  it('test is a dry run under the version in force, or under a proposed file', async () => {
    const active = await runCli(['policy', 'test', '--request', join(dir, 'sample.json')], env());
    expect(active.code, describeRun(active)).toBe(0);
    expect(active.stdout).toContain('(version 1)');
    expect(active.stdout).toContain('outcome: needs-approval under rule "reads"');
    expect(active.stdout).toContain('approvers: bob@example.com');
    expect(active.stdout).toContain('expires in: 1800s');
    expect(active.stdout).toContain('rule "small-reads": when context /rows lte 100 → does not hold');

    const proposed = await runCli(
      [
        'policy',
        'test',
        '--request',
        join(dir, 'sample.json'),
        '--proposed',
        join(dir, 'next.yaml'),
        '--json',
      ],
      env(),
    );
    expect(proposed.code, describeRun(proposed)).toBe(0);
    expect(JSON.parse(proposed.stdout)).toMatchObject({ rule: 'reads', approvers: ['carol@example.com'] });
  });

  it('diff compares a stored version with a file', async () => {
    const result = await runCli(['policy', 'diff', '1', join(dir, 'next.yaml')], env());
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain('--- version 1');
    expect(result.stdout).toContain('-    approvers: [bob@example.com]\n+    approvers: [carol@example.com]');
  });

  it('propose sends the file to the server; an invalid one is refused with its line', async () => {
    const connection = ['--url', t.url, '--api-key', adminKey, '--requester', 'alice@example.com'];
    const good = await runCli(['policy', 'propose', join(dir, 'next.yaml'), ...connection], env());
    expect(good.code, describeRun(good)).toBe(0);
    expect(good.stdout).toMatch(
      /^Proposed: approval request [0-9a-f-]{36} \(policy\.change\), 2 approvals needed/,
    );
    proposalRequest = /approval request ([0-9a-f-]{36})/.exec(good.stdout)?.[1] ?? '';

    const bad = await runCli(['policy', 'propose', join(dir, 'broken.yaml'), ...connection], env());
    expect(bad.code, describeRun(bad)).toBe(3);
    expect(bad.stderr).toContain('POLICY_INVALID');
    expect(bad.stderr).toMatch(/line 12, column \d+: rules\[1\]\.quorum/);
  });

  it('history --url reads the versions from the server, with proposer and approvers', async () => {
    const connection = ['--url', t.url, '--api-key', adminKey];
    const before = await runCli(['policy', 'history', ...connection], cliEnv({}));
    expect(before.code, describeRun(before)).toBe(0);
    expect(before.stdout.trim().split('\n')).toHaveLength(1);
    expect(before.stdout).toMatch(/^version 1 {2}\S+ {2}sha256:[0-9a-f]{64} {2}adopted from /);

    const deps = testDeps(t.server.db, { clock: systemClock });
    for (const email of ['bob@example.com', 'carol@example.com']) {
      await recordDecision(deps, {
        requestId: proposalRequest,
        verdict: 'approve',
        approver: { email, platform: 'web' },
      });
    }
    const after = await runCli(['policy', 'history', ...connection], cliEnv({}));
    expect(after.code, describeRun(after)).toBe(0);
    const lines = after.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^version 2 {2}\S+ {2}sha256:[0-9a-f]{64} {2}proposed by alice@example\.com, approved by bob@example\.com, carol@example\.com \(proposal [0-9a-f-]{36}\)$/,
    );

    const json = await runCli(['policy', 'history', ...connection, '--json'], cliEnv({}));
    expect(JSON.parse(json.stdout)).toMatchObject([
      { version: 1, kind: 'adopted', approvers: [] },
      { version: 2, kind: 'changed', proposer: 'alice@example.com' },
    ]);

    const refused = await runCli(['policy', 'history', '--url', t.url, '--api-key', 'cs_nope'], cliEnv({}));
    expect(refused.code, describeRun(refused)).toBe(3);
  });
});
