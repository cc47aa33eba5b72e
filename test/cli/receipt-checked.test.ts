// An "approved" status is acted on only with its signed proof: a pending request flipped to
// approved by direct SQL (no decision, no verdict event, no receipt) — or, where the server itself
// refuses to serve such a row (CHAIN_MISMATCH), answered "approved" without a receipt by a lying
// proxy in front of it — is refused by `request --wait` (with and without --exec), the GitHub
// Action's gate, the MCP tools and the Claude Code hook; and a real approval whose receipt is
// checked against a pinned key set of another key is refused too.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashIdempotencyKey } from '../../apps/server/src/approvals/create-request.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { ApprovalToolResult } from '../../apps/server/src/mcp/approval-tools.ts';
import { generateReceiptKey } from '../../apps/server/src/receipts/receipt-key.ts';
import { createReceiptSigner } from '../../apps/server/src/receipts/sign-receipt.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import {
  REPO_ROOT,
  cliEnv,
  describeRun,
  killRunningClis,
  runCli,
  startCli,
  type CliResult,
} from '../support/cli.ts';
import { startForgingProxy, type ForgingProxy } from '../support/forging-proxy.ts';
import { callTool, connectHttp, connectStdio, type McpConnection } from '../support/mcp-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const REQUESTER = 'alice@example.com';
const NO_RECEIPT = 'approved status without a valid receipt';

describe('an approved status without a valid receipt is not an approval', { timeout: 180_000 }, () => {
  let t: TestServer;
  let key: string;
  let dir: string;
  let otherJwks: string;
  let proxy: ForgingProxy;

  /** The forgery: a pending request set to approved in SQL, past the service and its chain. */
  const flipToApproved = (id: string) =>
    withPgClient(t.database.url, async (c) => {
      const { rowCount } = await c.query(
        "UPDATE approval_requests SET status = 'approved', decided_at = now() WHERE id = $1 AND status = 'pending'",
        [id],
      );
      expect(rowCount).toBe(1);
    });
  const idOfKey = (idempotencyKey: string) =>
    withPgClient(t.database.url, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        'SELECT id::text AS id FROM approval_requests WHERE idempotency_key = $1',
        [hashIdempotencyKey(idempotencyKey)],
      );
      const id = rows[0]?.id;
      if (!id) expect.fail(`no request with idempotency key ${idempotencyKey}`);
      return id;
    });
  const approve = (requestId: string) =>
    recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
  const env = (vars: Record<string, string | undefined> = {}) =>
    cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, ...vars });
  const expectRefused = (result: CliResult) => {
    expect(result.code, describeRun(result)).toBe(3);
    expect(result.stderr).toContain(NO_RECEIPT);
  };

  beforeAll(async () => {
    t = await startTestServer();
    proxy = await startForgingProxy(t.url);
    ({ key } = await t.createKey('pipeline', ['approvals:write', 'approvals:read']));
    dir = await mkdtemp(join(tmpdir(), 'countersign-receipt-'));
    otherJwks = join(dir, 'other-jwks.json');
    await writeFile(otherJwks, JSON.stringify(createReceiptSigner(generateReceiptKey()).jwks()));
  });
  afterAll(async () => {
    await killRunningClis();
    await proxy?.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('request --wait', () => {
    /** Starts `request --wait` and returns it with the id of the request it waits on. */
    const waiting = async (args: string[], vars: Record<string, string> = {}) => {
      const cli = startCli(
        [
          'request',
          '--action',
          'db.export',
          '--requester',
          REQUESTER,
          '--context',
          '{"target":"prod"}',
          '--wait',
          '--timeout',
          '60s',
          ...args,
        ],
        env(vars),
      );
      for (;;) {
        const match = /request ([0-9a-f-]{36}) \(.*\) is pending; waiting/.exec(cli.stderr());
        if (match?.[1]) return { cli, id: match[1] };
        if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
          expect.fail(`the CLI exited before waiting\n${describeRun(await cli.exited)}`);
        }
        await sleep(50);
      }
    };

    it('exits 3 on an approved answer without a receipt while it waits, and says why', async () => {
      const { cli, id } = await waiting([], { COUNTERSIGN_URL: proxy.url });
      proxy.forgeApproved(id);
      const result = await cli.exited;
      expectRefused(result);
      expect(result.stderr).toContain(`request ${id} carries no receipt`);
      expect(result.stdout).not.toContain('approved by');
    });

    it('with --exec exits 3 on an approved answer without a receipt, and runs nothing', async () => {
      const marker = join(dir, 'ran-after-flip');
      const script = 'require("fs").writeFileSync(process.argv[1], "x")';
      const { cli, id } = await waiting(['--exec', '--', process.execPath, '-e', script, marker], {
        COUNTERSIGN_URL: proxy.url,
      });
      proxy.forgeApproved(id);
      const result = await cli.exited;
      expectRefused(result);
      expect(existsSync(marker)).toBe(false);
    });

    it('exits 3 when the receipt is checked against a pinned key set of another key', async () => {
      const viaEnv = await waiting([], { COUNTERSIGN_RECEIPT_JWKS: otherJwks });
      await approve(viaEnv.id);
      const refused = await viaEnv.cli.exited;
      expectRefused(refused);
      expect(refused.stderr).toContain('the signature does not verify');

      const viaFlag = await waiting(['--receipt-key', otherJwks]);
      await approve(viaFlag.id);
      expectRefused(await viaFlag.cli.exited);

      // The same kind of approval, checked against the server's keys, passes.
      const real = await waiting([]);
      await approve(real.id);
      const passed = await real.cli.exited;
      expect(passed.code, describeRun(passed)).toBe(0);
    });
  });

  describe('the GitHub Action gate', () => {
    const gate = async (vars: Record<string, string>) => {
      const runner = await mkdtemp(join(tmpdir(), 'countersign-runner-'));
      const summary = join(runner, 'summary.md');
      const outputs = join(runner, 'outputs.txt');
      await writeFile(summary, '');
      await writeFile(outputs, '');
      const child = spawn('bash', [join(REPO_ROOT, 'action/gate.sh')], {
        cwd: runner,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: process.env['HOME'] ?? '/tmp',
          COUNTERSIGN_URL: t.url,
          COUNTERSIGN_API_KEY: key,
          CS_ACTION: 'deploy.gate',
          CS_REQUESTER: REQUESTER,
          CS_EXPIRES_IN: '10m',
          CS_TIMEOUT: '1m',
          RUNNER_TEMP: runner,
          GITHUB_STEP_SUMMARY: summary,
          GITHUB_OUTPUT: outputs,
          GITHUB_RUN_ATTEMPT: '1',
          GITHUB_JOB: 'deploy',
          GITHUB_REPOSITORY: 'acme/app',
          ...vars,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const [code] = (await once(child, 'close')) as [number | null];
      const result = {
        code,
        signal: null,
        stdout,
        stderr,
        summary: await readFile(summary, 'utf8'),
        outputs: await readFile(outputs, 'utf8'),
      };
      await rm(runner, { recursive: true, force: true });
      return result;
    };
    /** The key the gate derives for a run, so the forged request is the one it finds. */
    const gateKey = (runId: string) => `github-acme/app-${runId}-1-deploy-deploy.gate`;
    const createForGate = async (runId: string) => {
      const created = await runCli(
        [
          'request',
          '--action',
          'deploy.gate',
          '--requester',
          REQUESTER,
          '--expires-in',
          '10m',
          '--idempotency-key',
          gateKey(runId),
        ],
        env(),
      );
      expect(created.code, describeRun(created)).toBe(0);
      return created.stdout.trim();
    };

    it('fails a status flipped in SQL with exit 3 and status=error', async () => {
      const id = await createForGate('901');
      await flipToApproved(id);
      const result = await gate({ GITHUB_RUN_ID: '901' });
      expectRefused(result);
      expect(result.outputs).toBe(`status=error\nrequest-id=${id}\n`);
      expect(result.summary).toContain('### Countersign: error');
      expect(result.summary).toContain(NO_RECEIPT);
    });

    it('fails a real approval checked against the pinned key set of another key', async () => {
      const id = await createForGate('902');
      await approve(id);
      const result = await gate({ GITHUB_RUN_ID: '902', COUNTERSIGN_RECEIPT_JWKS: otherJwks });
      expectRefused(result);
      expect(result.outputs).toBe(`status=error\nrequest-id=${id}\n`);
      const real = await gate({ GITHUB_RUN_ID: '902' });
      expect(real.code, describeRun(real)).toBe(0);
      expect(real.outputs).toBe(`status=approved\nrequest-id=${id}\n`);
    });
  });

  describe('the MCP tools', () => {
    let stdio: McpConnection;
    let forgedStdio: McpConnection;
    let pinned: McpConnection;
    let http: McpConnection;

    beforeAll(async () => {
      const vars = { COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, COUNTERSIGN_REQUESTER: REQUESTER };
      stdio = await connectStdio(vars);
      forgedStdio = await connectStdio({ ...vars, COUNTERSIGN_URL: proxy.url });
      pinned = await connectStdio({ ...vars, COUNTERSIGN_RECEIPT_JWKS: otherJwks });
      http = await connectHttp(t.url, {
        authorization: `Bearer ${key}`,
        'countersign-requester': REQUESTER,
      });
    });
    afterAll(async () => {
      await stdio?.close();
      await forgedStdio?.close();
      await pinned?.close();
      await http?.close();
    });

    it.each([
      ['over stdio, answered "approved" without a receipt', () => forgedStdio, 'forge'],
      ['over HTTP (/mcp), flipped in SQL', () => http, 'flip'],
    ])('get_approval does not answer "approved" %s', async (_n, connection, how) => {
      const created = await callTool(connection(), 'request_approval', { action: 'db.query', wait: false });
      const pending = created.result.structuredContent as ApprovalToolResult;
      expect(pending.status).toBe('pending');
      if (how === 'forge') proxy.forgeApproved(pending.id);
      else await flipToApproved(pending.id);
      const { result, text } = await callTool(connection(), 'get_approval', { id: pending.id, wait: false });
      expect(result.isError).toBe(true);
      expect(text).toContain(NO_RECEIPT);
      expect(text).toContain('Do not do db.query');
      expect(text).not.toMatch(/^Approved/);
    });

    it('request_approval does not answer "approved" when the receipt does not verify against the pinned keys', async () => {
      const created = await callTool(pinned, 'request_approval', { action: 'db.query', wait: false });
      const pending = created.result.structuredContent as ApprovalToolResult;
      await approve(pending.id);
      const refused = await callTool(pinned, 'get_approval', { id: pending.id, wait: false });
      expect(refused.result.isError).toBe(true);
      expect(refused.text).toContain(`${NO_RECEIPT}: the signature does not verify`);
      const real = await callTool(stdio, 'get_approval', { id: pending.id, wait: false });
      expect(real.result.isError ?? false, real.text).toBe(false);
      expect(real.text).toMatch(/^Approved by bob@example\.com/);
    });
  });

  describe('the Claude Code hook', () => {
    let rulesFile: string;
    let useId = 0;
    const event = (toolUseId: string) =>
      JSON.stringify({
        session_id: '9f0c3c1e-6a53-4a4e-9d0c-2f6c1b7a8e21',
        cwd: '/home/alice/shop',
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command: 'psql -c "DROP TABLE carts"' },
        tool_use_id: toolUseId,
      });
    const hook = (toolUseId: string, args: string[] = [], vars: Record<string, string> = {}) =>
      runCli(
        ['hook', 'claude-code', '--rules', rulesFile, ...args],
        env({ COUNTERSIGN_REQUESTER: REQUESTER, ...vars }),
        {
          input: event(toolUseId),
        },
      );
    const decisionOf = (result: CliResult) => {
      expect(result.code, describeRun(result)).toBe(0);
      return (
        JSON.parse(result.stdout) as {
          hookSpecificOutput: { permissionDecision: string; permissionDecisionReason: string };
        }
      ).hookSpecificOutput;
    };
    /** The hook asks once and gives up pending (1 s), leaving the request it created. */
    const pendingFromHook = async (toolUseId: string) => {
      const first = decisionOf(await hook(toolUseId, ['--timeout', '1s']));
      expect(first.permissionDecision).toBe('deny');
      return idOfKey(`claude-code-${toolUseId}`);
    };

    beforeAll(async () => {
      rulesFile = join(dir, 'hook-rules.yaml');
      await writeFile(rulesFile, 'rules:\n  - tool: Bash\n    command: "psql *"\n    action: db.query\n');
    });

    it('denies a status flipped in SQL', async () => {
      const toolUseId = `toolu_flip_${++useId}`;
      const id = await pendingFromHook(toolUseId);
      await flipToApproved(id);
      const decision = decisionOf(await hook(toolUseId, ['--timeout', '30s']));
      expect(decision.permissionDecision).toBe('deny');
      expect(decision.permissionDecisionReason).toContain(NO_RECEIPT);
    });

    it('denies a real approval checked against the pinned key set of another key', async () => {
      const toolUseId = `toolu_pinned_${++useId}`;
      const id = await pendingFromHook(toolUseId);
      await approve(id);
      const viaEnv = decisionOf(await hook(toolUseId, [], { COUNTERSIGN_RECEIPT_JWKS: otherJwks }));
      expect(viaEnv.permissionDecision).toBe('deny');
      expect(viaEnv.permissionDecisionReason).toContain(`${NO_RECEIPT}: the signature does not verify`);
      const viaFlag = decisionOf(await hook(toolUseId, ['--receipt-key', otherJwks]));
      expect(viaFlag.permissionDecision).toBe('deny');
      const real = decisionOf(await hook(toolUseId));
      expect(real.permissionDecision).toBe('allow');
    });
  });
});
