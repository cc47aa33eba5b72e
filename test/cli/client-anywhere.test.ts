// The client for pipelines in other repositories: the server serves one file that runs on plain
// Node in an empty folder (no node_modules), and the GitHub Action's script gates on the verdict
// and writes the job summary, run here with the environment a runner would give it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { pollUntil } from '../support/poll.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { decide } from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const listSchema = z.object({ items: z.array(z.object({ id: z.uuid(), action: z.string() })) });

/** A bare environment: no NODE_PATH, nothing from this repository. */
function bareEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...vars };
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

describe('the client anywhere', { timeout: 180_000 }, () => {
  let t: TestServer;
  let key: string;
  let dir: string;
  let client: string;

  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey('pipeline', ['approvals:write', 'approvals:read', 'audit:read']));
    dir = await mkdtemp(join(tmpdir(), 'countersign-client-'));
    client = join(dir, 'countersign.mjs');
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Approves (or denies) the newest pending request for `action` once it exists. */
  async function decideWhenAsked(action: string, verdict: 'approve' | 'deny'): Promise<string> {
    const list = await pollUntil(
      async () => listSchema.parse((await t.call('GET', '/v1/approvals?status=pending', { key })).body),
      (l) => l.items.some((i) => i.action === action),
      { what: `a pending ${action} request` },
    );
    const id = list.items.find((i) => i.action === action)?.id ?? '';
    await decide(t.server.db, id, verdict);
    return id;
  }

  it('GET /cli/countersign.mjs serves one cacheable JavaScript file, without a key', async () => {
    const response = await fetch(`${t.url}/cli/countersign.mjs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = response.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const code = await response.text();
    expect(code.startsWith('#!/usr/bin/env node\n')).toBe(true);
    await writeFile(client, code);
    const again = await fetch(`${t.url}/cli/countersign.mjs`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('runs on plain Node in a folder with nothing else in it', async () => {
    expect(await readdir(dir)).toEqual(['countersign.mjs']);
    const version = await run(process.execPath, [client, '--version'], dir, bareEnv({}));
    expect(version.code, describeRun(version)).toBe(0);
    const pkg = z
      .object({ version: z.string() })
      .parse(JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')));
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('`request --wait` exits 0 once someone else approves, with the request as JSON', async () => {
    const waiting = run(
      process.execPath,
      [
        client,
        'request',
        '--action',
        'deploy.client',
        '--requester',
        'alice@example.com',
        '--wait',
        '--json',
      ],
      dir,
      bareEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key }),
    );
    const id = await decideWhenAsked('deploy.client', 'approve');
    const result = await waiting;
    expect(result.code, describeRun(result)).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ id, status: 'approved' });
  });

  it('`audit verify --url` and `audit report --url` work against the server; a bad option exits 2', async () => {
    const env = bareEnv({ COUNTERSIGN_API_KEY: key });
    const verify = await run(process.execPath, [client, 'audit', 'verify', '--url', t.url], dir, env);
    expect(verify.code, describeRun(verify)).toBe(0);
    expect(verify.stdout).toMatch(/^intact: \d+ events/);

    const out = join(dir, 'report.csv');
    const report = await run(
      process.execPath,
      [client, 'audit', 'report', '--url', t.url, '--from', '1d', '--out', out],
      dir,
      env,
    );
    expect(report.code, describeRun(report)).toBe(0);
    expect(report.stderr).toContain('audit chain intact');
    expect(await readFile(out, 'utf8')).toContain('deploy.client');
    await rm(out);

    const bad = await run(
      process.execPath,
      [client, 'audit', 'report', '--url', t.url, '--format', 'xml'],
      dir,
      env,
    );
    expect(bad.code, describeRun(bad)).toBe(2);
  });

  it('the GitHub Action’s script fails the step on a denial and says so in the job summary and outputs', async () => {
    const runner = await mkdtemp(join(tmpdir(), 'countersign-runner-'));
    try {
      const summary = join(runner, 'summary.md');
      const outputs = join(runner, 'outputs.txt');
      await writeFile(summary, '');
      await writeFile(outputs, '');
      const step = run('bash', [join(REPO_ROOT, 'action/gate.sh')], runner, {
        ...bareEnv({
          COUNTERSIGN_URL: t.url,
          COUNTERSIGN_API_KEY: key,
          CS_ACTION: 'deploy.action',
          CS_REQUESTER: 'alice@example.com',
          CS_TITLE: 'Deploy | from CI',
          CS_CONTEXT: '{"sha":"abc123"}',
          CS_EXPIRES_IN: '10m',
          CS_TIMEOUT: '2m',
          RUNNER_TEMP: runner,
          GITHUB_STEP_SUMMARY: summary,
          GITHUB_OUTPUT: outputs,
          GITHUB_RUN_ID: '42',
          GITHUB_RUN_ATTEMPT: '1',
          GITHUB_JOB: 'deploy',
          GITHUB_REPOSITORY: 'acme/app',
        }),
      });
      const id = await decideWhenAsked('deploy.action', 'deny');
      const result = await step;
      expect(result.code, describeRun(result)).toBe(1);
      expect(result.stdout).toContain('::error title=Countersign::the request was denied');
      const text = await readFile(summary, 'utf8');
      expect(text).toContain('### Countersign: denied');
      expect(text).toContain(`| request | \`${id}\` |`);
      expect(text).toContain('| deny | bob@example.com at ');
      expect(await readFile(outputs, 'utf8')).toBe(`status=denied\nrequest-id=${id}\n`);
      // The downloaded client is removed with the step's temporary folder.
      expect(await readdir(runner)).toEqual(expect.arrayContaining(['summary.md', 'outputs.txt']));
      expect((await readdir(runner)).length).toBe(2);
    } finally {
      await rm(runner, { recursive: true, force: true });
    }
  });

  it('the action script fails with exit 3 and a summary when the server cannot be reached', async () => {
    const runner = await mkdtemp(join(tmpdir(), 'countersign-runner-'));
    try {
      const summary = join(runner, 'summary.md');
      const result = await run('bash', [join(REPO_ROOT, 'action/gate.sh')], runner, {
        ...bareEnv({
          COUNTERSIGN_URL: 'http://127.0.0.1:9',
          COUNTERSIGN_API_KEY: key,
          CS_ACTION: 'deploy.nowhere',
          CS_REQUESTER: 'alice@example.com',
          RUNNER_TEMP: runner,
          GITHUB_STEP_SUMMARY: summary,
        }),
      });
      expect(result.code, describeRun(result)).toBe(3);
      expect(await readFile(summary, 'utf8')).toContain('### Countersign: error');
    } finally {
      await rm(runner, { recursive: true, force: true });
    }
  });
});
