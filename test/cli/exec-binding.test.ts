// `request --exec` and the Action's `run:` bind the command: argv, working directory and the names
// of the variables handed over go into the context (so into the digest) and onto the card; before
// running, the client recomputes the digest from what it is about to run, and anything else
// approved (here: a proxy on the way that makes the reviewers approve `terraform plan`) is refused
// with exit 3 and nothing run (a marker file proves it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commandLineOf } from '../../apps/server/src/approvals/exec-binding.ts';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { buildCardView } from '../../apps/server/src/chat/card-view.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { ApprovalRepresentation } from '../../apps/server/src/approvals/view/approval.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import {
  REPO_ROOT,
  cliEnv,
  describeRun,
  killRunningClis,
  runCli,
  startCli,
  type CliProcess,
  type CliResult,
} from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const REQUESTER = 'alice@example.com';
const PLAN = ['terraform', 'plan'];

/** What a proxy on the way does to POST /v1/approvals bodies. */
type Rewrite = (body: Record<string, unknown>) => Record<string, unknown>;

/** A forwarding HTTP proxy in front of the server that can rewrite request creations. */
async function startProxy(target: string, rewrite: Rewrite): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let body: Buffer | string | undefined = chunks.length ? Buffer.concat(chunks) : undefined;
        if (req.method === 'POST' && req.url === '/v1/approvals' && body) {
          body = JSON.stringify(rewrite(JSON.parse(body.toString('utf8')) as Record<string, unknown>));
        }
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))
            headers[name] = value;
        }
        const answer = await fetch(new URL(req.url ?? '/', target), {
          method: req.method ?? 'GET',
          headers,
          ...(body !== undefined ? { body } : {}),
        });
        const text = Buffer.from(await answer.arrayBuffer());
        const out: Record<string, string> = {};
        for (const name of ['content-type', 'etag']) {
          const value = answer.headers.get(name);
          if (value) out[name] = value;
        }
        res.writeHead(answer.status, out).end(text);
      })().catch((error: unknown) => res.writeHead(502).end(String(error)));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** The proxy's trick: the reviewers are shown, and approve, `terraform plan` in the client's directory. */
const showPlan: Rewrite = (body) => {
  const context = (body['context'] ?? {}) as Record<string, unknown>;
  const exec = (context['exec'] ?? { cwd: '/', env: [] }) as Record<string, unknown>;
  return { ...body, context: { ...context, exec: { ...exec, argv: PLAN } } };
};

const approvalSchema = z.looseObject({
  id: z.string(),
  payloadDigest: z.string(),
  context: z.record(z.string(), z.unknown()),
});

describe('--exec binds the command', { timeout: 180_000 }, () => {
  let t: TestServer;
  let key: string;
  let dir: string;
  let proxy: { url: string; server: Server };
  let runs = 0;

  const approve = (requestId: string) =>
    recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
  const started = (requestId: string) =>
    withPgClient(t.database.url, async (c) => {
      const { rows } = await c.query('SELECT 1 FROM request_executions WHERE request_id = $1', [requestId]);
      return rows.length > 0;
    });
  const getApproval = async (id: string) =>
    approvalSchema.parse((await t.call('GET', `/v1/approvals/${id}`, { key })).body);
  /** A command that writes its environment to a marker file. */
  const marking = () => {
    const marker = join(dir, `ran-${++runs}`);
    const script = "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.env))";
    return { marker, argv: [process.execPath, '-e', script, marker] };
  };
  const waitingOn = async (cli: CliProcess) => {
    for (;;) {
      const match = /request ([0-9a-f-]{36}) \(.*\) is pending; waiting/.exec(cli.stderr());
      if (match?.[1]) return match[1];
      if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
        expect.fail(`the CLI exited before waiting\n${describeRun(await cli.exited)}`);
      }
      await sleep(50);
    }
  };
  const request = (url: string, args: string[], vars: Record<string, string> = {}) =>
    startCli(
      [
        'request',
        '--action',
        'infra.plan',
        '--requester',
        REQUESTER,
        '--context',
        '{"cmd":"terraform plan"}',
        '--wait',
        '--timeout',
        '60s',
        ...args,
      ],
      cliEnv({ COUNTERSIGN_URL: url, COUNTERSIGN_API_KEY: key, ...vars }),
    );

  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey('pipeline', ['approvals:write', 'approvals:read']));
    dir = await mkdtemp(join(tmpdir(), 'countersign-bound-'));
    proxy = await startProxy(t.url, showPlan);
  });
  afterAll(async () => {
    await killRunningClis();
    proxy?.server.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('puts the argv, the directory and the --env names into the context, the digest and the card', async () => {
    const { marker, argv } = marking();
    const cli = request(t.url, ['--env', 'DEPLOY_TARGET', '--exec', '--', ...argv], {
      DEPLOY_TARGET: 'eu-west',
      UNNAMED_SECRET: 'must-not-reach-the-command',
    });
    const id = await waitingOn(cli);
    const exec = { argv, cwd: REPO_ROOT.replace(/\/$/, ''), env: ['DEPLOY_TARGET'] };
    const stored = await getApproval(id);
    expect(stored.context['exec']).toEqual(exec);
    expect(stored.payloadDigest).toBe(payloadDigest('infra.plan', { cmd: 'terraform plan', exec }));
    const line = `in ${exec.cwd}: ${process.execPath} -e 'require('\\''fs'\\'').writeFileSync(process.argv[1], JSON.stringify(process.env))' ${marker} (env: DEPLOY_TARGET)`;
    expect(commandLineOf(stored.context)).toBe(line);
    const card = buildCardView(stored as unknown as ApprovalRepresentation, { denyReasonRequired: false });
    expect(card.commandLine).toBe(line);
    expect(cli.stderr()).toContain(`countersign: bound command: ${line}`);

    await approve(id);
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(0);
    const env = JSON.parse(await readFile(marker, 'utf8')) as Record<string, string>;
    expect(env['DEPLOY_TARGET']).toBe('eu-west');
    expect(env['UNNAMED_SECRET']).toBeUndefined();
  });

  it('refuses with exit 3 and runs nothing when what was approved is another command', async () => {
    const { marker, argv } = marking();
    const cli = request(proxy.url, ['--exec', '--', ...argv]);
    const id = await waitingOn(cli);
    // The reviewers saw, and approve, terraform plan.
    expect(commandLineOf((await getApproval(id)).context)).toMatch(/: terraform plan$/);
    await approve(id);
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(3);
    expect(result.stderr).toContain(
      'receipt check failed, not running the command: the approved payload digest',
    );
    expect(existsSync(marker)).toBe(false);
    expect(await started(id)).toBe(false);
  });

  it('refuses bad --env use and an "exec" field of its own before asking', async () => {
    const env = cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key });
    const base = ['request', '--action', 'infra.plan', '--requester', REQUESTER, '--wait'];
    const expect3 = (result: CliResult, text: string) => {
      expect(result.code, describeRun(result)).toBe(3);
      expect(result.stderr).toContain(text);
    };
    expect3(
      await runCli([...base, '--env', 'NOT_SET_ANYWHERE', '--exec', '--', 'true'], env),
      '--env NOT_SET_ANYWHERE: not set',
    );
    expect3(
      await runCli([...base, '--env', 'BAD-NAME', '--exec', '--', 'true'], env),
      'expected an environment variable name',
    );
    expect3(await runCli([...base, '--env', 'PATH'], env), '--env needs --exec');
    expect3(
      await runCli(
        [...base, '--context', '{"exec":{"argv":["true"]}}', '--exec', '--', 'rm', '-rf', 'x'],
        env,
      ),
      '--context must not have an "exec" field with --exec',
    );
  });

  describe("the Action's run: input", () => {
    const gate = async (url: string, runId: string, script: string) => {
      const runner = await mkdtemp(join(tmpdir(), 'countersign-runner-'));
      const outputs = join(runner, 'outputs.txt');
      const summary = join(runner, 'summary.md');
      await writeFile(outputs, '');
      await writeFile(summary, '');
      const child = spawn('bash', [join(REPO_ROOT, 'action/gate.sh')], {
        cwd: runner,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: process.env['HOME'] ?? '/tmp',
          COUNTERSIGN_URL: url,
          COUNTERSIGN_API_KEY: key,
          CS_ACTION: 'deploy.run',
          CS_REQUESTER: REQUESTER,
          CS_TIMEOUT: '1m',
          CS_RUN: script,
          RUNNER_TEMP: runner,
          GITHUB_OUTPUT: outputs,
          GITHUB_STEP_SUMMARY: summary,
          GITHUB_RUN_ID: runId,
          GITHUB_REPOSITORY: 'acme/app',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const id = await pollUntil(
        () =>
          withPgClient(t.database.url, async (c) => {
            const { rows } = await c.query<{ id: string }>(
              "SELECT id::text AS id FROM approval_requests WHERE action = 'deploy.run' AND status = 'pending'",
            );
            return rows[0]?.id;
          }),
        (value): value is string => typeof value === 'string',
        { what: 'the gate to ask' },
      );
      await approve(id as string);
      const [code] = (await once(child, 'close')) as [number | null];
      const result = {
        code,
        signal: null,
        stdout,
        stderr,
        outputs: await readFile(outputs, 'utf8'),
        summary: await readFile(summary, 'utf8'),
        id: id as string,
      };
      await rm(runner, { recursive: true, force: true });
      return result;
    };

    it('runs the approved script, shown on the card, and gives its exit code', async () => {
      const marker = join(dir, 'gate-ran');
      const result = await gate(t.url, '7001', `touch '${marker}'; exit 0`);
      expect(result.code, describeRun(result)).toBe(0);
      expect(existsSync(marker)).toBe(true);
      const stored = await getApproval(result.id);
      expect(commandLineOf(stored.context)).toContain(
        `bash --noprofile --norc -eo pipefail -c 'touch '\\''${marker}`,
      );
      expect(result.summary).toContain('| command | `in ');
      expect(result.outputs).toBe(`status=approved\nrequest-id=${result.id}\n`);
    });

    it('refuses a script other than the one approved, with exit 3 and nothing run', async () => {
      const marker = join(dir, 'gate-must-not-run');
      const result = await gate(proxy.url, '7002', `touch '${marker}'`);
      expect(result.code, describeRun(result)).toBe(3);
      expect(existsSync(marker)).toBe(false);
      expect(await started(result.id)).toBe(false);
      expect(result.outputs).toBe(`status=error\nrequest-id=${result.id}\n`);
    });
  });
});
