// The GitHub Action and the CLI fetch the CI's identity token themselves (issue 21, item 1): the
// action's script runs as a process with ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN pointing at a local
// issuer's token endpoint (GitHub's wire format), without a requester input; the server verifies
// the token and the request's requester is proven. The CLI takes a GitLab job's id_tokens variable.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withPgClient } from '../support/api-fixtures.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { decide } from '../support/delivery-fixtures.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { pollUntil } from '../support/poll.ts';
import {
  githubClaims,
  gitlabClaims,
  startTestOidcIssuer,
  type TestOidcIssuer,
} from '../support/test-oidc-issuer.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

const describeRun = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const bareEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  HOME: process.env['HOME'] ?? '/tmp',
  ...vars,
});
const listSchema = z.object({ items: z.array(z.object({ id: z.uuid(), action: z.string() })) });
const AUDIENCE = 'https://countersign.example.com';

describe('the action and the CLI send the CI identity token', { timeout: 180_000 }, () => {
  let github: TestOidcIssuer;
  let gitlab: TestOidcIssuer;
  let policyFile: TempPolicyFile;
  let t: TestServer;
  let key: string;
  let dir: string;

  beforeAll(async () => {
    [github, gitlab] = await Promise.all([
      startTestOidcIssuer(githubClaims('octo-alice', { repository: 'acme/app', run_id: '4242' })),
      startTestOidcIssuer(),
    ]);
    policyFile = await writeTempPolicy(`rules:
  - { name: ship, actions: ["deploy.*"], approvers: [bob@example.com], requester: proven }
identity:
  issuers:
    - { issuer: "${github.issuer}", audience: "${AUDIENCE}", name: github-actions, preset: github-actions, map: { octo-alice: alice@example.com } }
    - { issuer: "${gitlab.issuer}", audience: countersign, preset: gitlab-ci }
`);
    t = await startTestServer({ env: { COUNTERSIGN_POLICY: policyFile.path } });
    ({ key } = await t.createKey('pipeline'));
    dir = await mkdtemp(join(tmpdir(), 'countersign-identity-'));
  });
  afterAll(async () => {
    await t?.close();
    await policyFile?.remove();
    await github?.close();
    await gitlab?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const storedProof = (id: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ requester_email: string; requester_proof: unknown }>(
        'SELECT requester_email, requester_proof FROM approval_requests WHERE id = $1',
        [id],
      );
      return rows[0];
    });

  it('the GitHub Action without a requester input: the run proves alice; approved by bob, the step passes', async () => {
    const summary = join(dir, 'summary.md');
    const outputs = join(dir, 'outputs.txt');
    await writeFile(summary, '');
    await writeFile(outputs, '');
    const step = run('bash', [join(REPO_ROOT, 'action/gate.sh')], dir, {
      ...bareEnv({
        COUNTERSIGN_URL: t.url,
        COUNTERSIGN_API_KEY: key,
        CS_ACTION: 'deploy.action',
        CS_IDENTITY_AUDIENCE: AUDIENCE,
        CS_EXPIRES_IN: '10m',
        CS_TIMEOUT: '2m',
        RUNNER_TEMP: dir,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_OUTPUT: outputs,
        ACTIONS_ID_TOKEN_REQUEST_URL: github.tokenRequestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: github.tokenRequestToken,
      }),
    });
    const list = await pollUntil(
      async () => listSchema.parse((await t.call('GET', '/v1/approvals?status=pending', { key })).body),
      (l) => l.items.some((i) => i.action === 'deploy.action'),
      { what: 'the pending deploy.action request' },
    );
    const id = list.items.find((i) => i.action === 'deploy.action')?.id ?? '';
    await decide(t.server.db, id, 'approve');
    const result = await step;
    expect(result.code, describeRun(result)).toBe(0);
    expect(github.requestedAudiences).toEqual([AUDIENCE]);
    expect(await storedProof(id)).toEqual({
      requester_email: 'alice@example.com',
      requester_proof: {
        kind: 'workload',
        provider: 'github-actions',
        issuer: github.issuer,
        subject: 'repo:acme/api:ref:refs/heads/main',
        login: 'octo-alice',
        repository: 'acme/app',
        workflow: 'acme/api/.github/workflows/deploy.yml@refs/heads/main',
        runId: '4242',
        keyName: 'pipeline',
      },
    });
    expect(await readFile(summary, 'utf8')).toContain(
      '| requester | alice@example.com (proven (github-actions: octo-alice / acme/app / run 4242)) |',
    );
  });

  it('the GitHub token endpoint refusing the runner token fails the step (exit 3); nothing is asked', async () => {
    const before = github.requestedAudiences.length;
    const result = await run('bash', [join(REPO_ROOT, 'action/gate.sh')], dir, {
      ...bareEnv({
        COUNTERSIGN_URL: t.url,
        COUNTERSIGN_API_KEY: key,
        CS_ACTION: 'deploy.refused',
        CS_TIMEOUT: '1m',
        RUNNER_TEMP: dir,
        ACTIONS_ID_TOKEN_REQUEST_URL: github.tokenRequestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'not-the-runner-token',
      }),
    });
    expect(result.code, describeRun(result)).toBe(3);
    expect(result.stderr).toContain('cannot get the GitHub Actions identity token');
    expect(github.requestedAudiences.length).toBe(before);
    const list = listSchema.parse((await t.call('GET', '/v1/approvals', { key })).body);
    expect(list.items.some((i) => i.action === 'deploy.refused')).toBe(false);
  });

  it('the CLI in a GitLab job sends the id_tokens variable; a claimed requester is refused by the rule', async () => {
    const client = join(dir, 'countersign.mjs');
    await writeFile(client, await (await fetch(`${t.url}/cli/countersign.mjs`)).text());
    const token = await gitlab.mint(gitlabClaims('carol@example.com'), { audience: 'countersign' });
    const proven = await run(
      process.execPath,
      [client, 'request', '--action', 'deploy.gitlab', '--json'],
      dir,
      bareEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, CI_CS_TOKEN: token }),
    );
    // The token sits in another variable than the default: nothing proves (or names) the requester.
    expect(proven.code, describeRun(proven)).toBe(3);
    expect(proven.stderr).toContain('name the requester, or bind the key to one, or send an identity token');

    const named = await run(
      process.execPath,
      [client, 'request', '--action', 'deploy.gitlab', '--identity-token-variable', 'CI_CS_TOKEN', '--json'],
      dir,
      bareEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, CI_CS_TOKEN: token }),
    );
    expect(named.code, describeRun(named)).toBe(0);
    const { id } = z.object({ id: z.uuid() }).parse(JSON.parse(named.stdout));
    expect(await storedProof(id)).toMatchObject({
      requester_email: 'carol@example.com',
      requester_proof: { kind: 'workload', provider: 'gitlab-ci', repository: 'acme/api', runId: '456' },
    });

    const byDefault = await run(
      process.execPath,
      [client, 'request', '--action', 'deploy.gitlab', '--json'],
      dir,
      bareEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, COUNTERSIGN_ID_TOKEN: token }),
    );
    expect(byDefault.code, describeRun(byDefault)).toBe(0);

    // --wait --exec: the receipt's digest covers the proven identity, and the command runs once approved.
    const marker = join(dir, 'ran.txt');
    const exec = run(
      process.execPath,
      [
        client,
        'request',
        '--action',
        'deploy.exec',
        '--context',
        '{"ref":"main"}',
        '--wait',
        '--timeout',
        '2m',
        '--exec',
        '--',
        process.execPath,
        '-e',
        `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`,
      ],
      dir,
      bareEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, COUNTERSIGN_ID_TOKEN: token }),
    );
    const pending = await pollUntil(
      async () => listSchema.parse((await t.call('GET', '/v1/approvals?status=pending', { key })).body),
      (l) => l.items.some((i) => i.action === 'deploy.exec'),
      { what: 'the pending deploy.exec request' },
    );
    await decide(t.server.db, pending.items.find((i) => i.action === 'deploy.exec')?.id ?? '', 'approve');
    const executed = await exec;
    expect(executed.code, describeRun(executed)).toBe(0);
    expect(executed.stderr).toContain('receipt verified');
    expect(await readFile(marker, 'utf8')).toBe('ran');

    const optedOut = await run(
      process.execPath,
      [
        client,
        'request',
        '--action',
        'deploy.gitlab',
        '--requester',
        'carol@example.com',
        '--no-identity-token',
      ],
      dir,
      bareEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, COUNTERSIGN_ID_TOKEN: token }),
    );
    expect(optedOut.code, describeRun(optedOut)).toBe(3);
    expect(optedOut.stderr).toContain('REQUESTER_NOT_PROVEN');
  });
});
