// `countersign request [--wait]` (spec §7) as a real process against an in-process server: the exit
// code for each verdict, errors and network failures, context files and --json output.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import type { Database } from '../../apps/server/src/db/client.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { approvalSchema } from '../../apps/server/src/approvals/view/approval.ts';
import type { Approval } from '../support/api-fixtures.ts';
import {
  cliEnv,
  describeRun,
  freePort,
  killRunningClis,
  runCli,
  startCli,
  type CliProcess,
  type CliResult,
} from '../support/cli.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const REQUESTER = 'alice@example.com';

function expectExit(result: CliResult, code: number): void {
  expect(result.signal, describeRun(result)).toBeNull();
  expect(result.code, describeRun(result)).toBe(code);
}

/**
 * Resolves with the request id once the CLI says on stderr that it is waiting for the verdict (it
 * has created the request and is about to long-poll); fails if the CLI exits first.
 */
async function waitingOn(cli: CliProcess): Promise<string> {
  for (;;) {
    const match = /request ([0-9a-f-]{36}) \(.*\) is pending; waiting/.exec(cli.stderr());
    if (match?.[1]) return match[1];
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
      expect.fail(`the CLI exited before waiting\n${describeRun(await cli.exited)}`);
    }
    await sleep(50);
  }
}

function decide(
  db: Database,
  requestId: string,
  verdict: 'approve' | 'deny',
  email: string,
  reason?: string,
) {
  return recordDecision(testDeps(db, { clock: systemClock }), {
    requestId,
    verdict,
    reason,
    approver: approver(email, email.startsWith('carol') ? 'teams' : 'slack'),
  });
}

/** Strict: `--json` prints the server's representation, nothing added and nothing dropped. */
function parseApproval(stdout: string): Approval {
  return approvalSchema.strict().parse(JSON.parse(stdout));
}

// Every case starts a fresh Node process (tsx); slow on a busy machine, so more time than default.
describe('countersign request', { timeout: 120_000 }, () => {
  let t: TestServer;
  let key: string;
  let workDir: string;

  beforeAll(async () => {
    // Expiry is swept every 200 ms so that a 2 s request expires promptly.
    t = await startTestServer({ env: { COUNTERSIGN_EXPIRY_SWEEP_MS: '200' } });
    ({ key } = await t.createKey('pipeline'));
    workDir = await mkdtemp(join(tmpdir(), 'countersign-request-cli-'));
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await killRunningClis();
    await t?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const env = (vars: Record<string, string | undefined> = {}) =>
    cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key, ...vars });
  const request = (...extra: string[]) => [
    'request',
    '--action',
    'db.export',
    '--requester',
    REQUESTER,
    ...extra,
  ];
  const stored = (id: string) => t.server.db.prisma.approvalRequest.findUnique({ where: { id } });

  it('without --wait prints the new request id and exits 0; the request exists, pending', async () => {
    const result = await runCli(request('--title', 'Export users', '--reason', 'churn analysis'), env());
    expectExit(result, 0);
    const id = result.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const row = await stored(id);
    expect(row).toMatchObject({
      status: 'pending',
      action: 'db.export',
      requesterEmail: REQUESTER,
      title: 'Export users',
      reason: 'churn analysis',
    });
  });

  it('--wait exits 0 once the request is approved, and says who approved it', async () => {
    const cli = startCli(request('--wait', '--approvers', 'bob@example.com'), env());
    const id = await waitingOn(cli);
    await decide(t.server.db, id, 'approve', 'bob@example.com', 'looks fine');
    const result = await cli.exited;
    expectExit(result, 0);
    expect(result.stdout.trim()).toMatch(
      /^approved by bob@example\.com \(slack\) at \d{4}-\d\d-\d\dT[\d:.]+Z; reason: looks fine$/,
    );
    expect((await stored(id))?.status).toBe('approved');
  });

  it('--wait exits 1 on a deny and prints the reason', async () => {
    const cli = startCli(request('--wait'), env());
    const id = await waitingOn(cli);
    await decide(t.server.db, id, 'deny', 'carol@example.com', 'not during the freeze');
    const result = await cli.exited;
    expectExit(result, 1);
    expect(result.stdout.trim()).toMatch(
      /^denied by carol@example\.com \(teams\) at \S+; reason: not during the freeze$/,
    );
  });

  it('--wait exits 2 when the request expires', async () => {
    const result = await runCli(request('--wait', '--expires-in', '2s'), env());
    expectExit(result, 2);
    expect(result.stdout.trim()).toMatch(/^expired at \S+ with 0\/1 approvals \(request [0-9a-f-]{36}\)$/);
  });

  it('--wait exits 2 when the request is cancelled through the API', async () => {
    const cli = startCli(request('--wait'), env());
    const id = await waitingOn(cli);
    const cancelled = await t.call('POST', `/v1/approvals/${id}/cancel`, { key });
    expect(cancelled.status).toBe(200);
    const result = await cli.exited;
    expectExit(result, 2);
    expect(result.stdout.trim()).toMatch(new RegExp(`^cancelled at \\S+ \\(request ${id}\\)$`));
  });

  it('--wait --json prints the final representation, with every decision of a quorum of 2', async () => {
    const cli = startCli(
      request('--wait', '--json', '--approvers', 'bob@example.com,carol@example.com', '--quorum', '2'),
      env(),
    );
    const id = await waitingOn(cli);
    await decide(t.server.db, id, 'approve', 'bob@example.com');
    await decide(t.server.db, id, 'approve', 'carol@example.com');
    const result = await cli.exited;
    expectExit(result, 0);
    const approval = parseApproval(result.stdout);
    expect(approval).toMatchObject({ id, status: 'approved', quorum: 2 });
    expect(approval.decisions.map((d) => [d.approver.email, d.approver.platform, d.verdict])).toEqual([
      ['bob@example.com', 'slack', 'approve'],
      ['carol@example.com', 'teams', 'approve'],
    ]);
    const byApi = await t.call<Approval>('GET', `/v1/approvals/${id}`, { key });
    expect(approval).toEqual(byApi.body);
  });

  it('--context @file.json is sent: masked values come back masked, the digest covers the original', async () => {
    const context = { table: 'users', rows: 120000, token: 'sk-live-abc123', destination: 's3://analytics' };
    const file = join(workDir, 'context.json');
    await writeFile(file, JSON.stringify(context));
    const result = await runCli(request('--context', `@${file}`, '--json'), env());
    expectExit(result, 0);
    const approval = parseApproval(result.stdout);
    expect(approval.status).toBe('pending');
    expect(approval.context).toEqual({
      table: 'users',
      rows: 120000,
      token: '••••c123',
      destination: 's3://analytics',
    });
    expect(approval.payloadDigest).toBe(payloadDigest('db.export', context));
    expect(JSON.stringify((await stored(approval.id))?.context)).not.toContain('sk-live-abc123');
  });

  it('an inline --context object is sent as given', async () => {
    const result = await runCli(request('--context', '{"ticket":"OPS-12","rows":3}', '--json'), env());
    expectExit(result, 0);
    expect(parseApproval(result.stdout).context).toEqual({ ticket: 'OPS-12', rows: 3 });
  });

  it.each([
    ['{"table":', /--context is not valid JSON/],
    ['[1,2]', /--context must be a JSON object/],
    ['@/nonexistent/context.json', /cannot read --context file \/nonexistent\/context\.json: ENOENT/],
  ])('a bad --context %s exits 3 and creates nothing', async (value, message) => {
    const before = await t.server.db.prisma.approvalRequest.count();
    const result = await runCli(request('--context', value), env());
    expectExit(result, 3);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(await t.server.db.prisma.approvalRequest.count()).toBe(before);
  });

  it('a 422 from the server exits 3 and prints the code, the detail and the pointer', async () => {
    const result = await runCli(['request', '--action', 'db.export', '--requester', 'not-an-email'], env());
    expectExit(result, 3);
    expect(result.stderr).toContain('HTTP 422 VALIDATION_FAILED');
    expect(result.stderr).toContain('/requester/email');
    expect(result.stderr).toMatch(/request id \S+/);
    expect(result.stdout).toBe('');
  });

  it('a revoked or wrong API key exits 3 with the 401 code', async () => {
    const result = await runCli(
      request('--wait'),
      env({ COUNTERSIGN_API_KEY: 'cs_not-a-real-key-000000000000' }),
    );
    expectExit(result, 3);
    expect(result.stderr).toContain('HTTP 401 API_KEY_INVALID');
  });

  it('a missing COUNTERSIGN_API_KEY exits 3 naming it', async () => {
    const result = await runCli(request('--wait'), env({ COUNTERSIGN_API_KEY: undefined }));
    expectExit(result, 3);
    expect(result.stderr).toContain('COUNTERSIGN_API_KEY');
    expect(result.stdout).toBe('');
  });

  it('--url and --api-key flags stand in for the environment', async () => {
    const result = await runCli(
      request('--url', t.url, '--api-key', key),
      env({ COUNTERSIGN_URL: undefined, COUNTERSIGN_API_KEY: undefined }),
    );
    expectExit(result, 0);
    expect((await stored(result.stdout.trim()))?.status).toBe('pending');
  });

  it('argument errors exit 3 for request, while other commands keep their exit code', async () => {
    // --requester may be left out (a bound key, or a CI identity token, names it); --action may not.
    const missing = await runCli(['request', '--requester', 'alice@example.com'], env());
    expectExit(missing, 3);
    expect(missing.stderr).toContain("required option '--action <action>' not specified");
    const unnamed = await runCli(['request', '--action', 'db.export'], env());
    expectExit(unnamed, 3);
    expect(unnamed.stderr).toContain('name the requester, or bind the key to one, or send an identity token');

    const badQuorum = await runCli(request('--quorum', 'two'), env());
    expectExit(badQuorum, 3);
    expect(badQuorum.stderr).toContain("option '--quorum <n>' argument 'two' is invalid");

    const help = await runCli(['request', '--help'], env());
    expectExit(help, 0);
    expect(help.stdout).toContain('--wait');

    const otherCommand = await runCli(['keys', 'create'], env());
    // A bad option is exit 2 for the other commands (1 means "chain not intact" for `audit`).
    expectExit(otherCommand, 2);
  });

  it('exits 3 when the server cannot be reached, after retrying, with or without --wait', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const create = await runCli(request(), env({ COUNTERSIGN_URL: closed }));
    expectExit(create, 3);
    expect(create.stderr).toContain(`cannot reach ${closed}: ECONNREFUSED (gave up after 4 attempts)`);

    const wait = await runCli(request('--wait', '--timeout', '3s'), env({ COUNTERSIGN_URL: closed }));
    expectExit(wait, 3);
    expect(wait.stderr).toContain(`cannot reach ${closed}: ECONNREFUSED`);
    expect(wait.stdout).toBe('');
  });

  it('--timeout passing while still pending exits 3 (not a verdict) and leaves the request pending', async () => {
    const result = await runCli(request('--wait', '--timeout', '2s'), env());
    expectExit(result, 3);
    const match = /request ([0-9a-f-]{36}) was last seen pending/.exec(result.stderr);
    expect(match, describeRun(result)).not.toBeNull();
    expect((await stored(match?.[1] ?? ''))?.status).toBe('pending');
  });
});

describe('countersign request --wait while the server goes away', { timeout: 180_000 }, () => {
  afterEach(async () => {
    await killRunningClis();
  });

  it('keeps waiting while the server is down and exits 0 on the verdict given after it is back', async () => {
    const database = await createTestDatabase();
    const port = String(await freePort());
    let server: TestServer | undefined = await startTestServer({ database, env: { PORT: port } });
    try {
      const { key } = await server.createKey('pipeline');
      const cli = startCli(
        ['request', '--action', 'deploy.prod', '--requester', REQUESTER, '--wait', '--timeout', '5m'],
        cliEnv({ COUNTERSIGN_URL: server.url, COUNTERSIGN_API_KEY: key }),
      );
      const id = await waitingOn(cli);
      await server.close();
      server = undefined;
      server = await startTestServer({ database, env: { PORT: port } });
      await decide(server.server.db, id, 'approve', 'bob@example.com');
      const result = await cli.exited;
      expectExit(result, 0);
      expect(result.stdout.trim()).toMatch(/^approved by bob@example\.com \(slack\) at \S+$/);
      // The outage was seen (the server was down between the two starts) and ridden out.
      expect(result.stderr).toContain('retrying until the timeout');
    } finally {
      await server?.close();
      await database.drop();
    }
  });

  it('exits 3 at --timeout when the server stays unreachable, naming the network error', async () => {
    const server = await startTestServer();
    let closed = false;
    try {
      const { key } = await server.createKey('pipeline');
      // The timeout only has to outlast the CLI's start and the server's shutdown.
      const cli = startCli(
        ['request', '--action', 'deploy.prod', '--requester', REQUESTER, '--wait', '--timeout', '20s'],
        cliEnv({ COUNTERSIGN_URL: server.url, COUNTERSIGN_API_KEY: key }),
      );
      await waitingOn(cli);
      await server.close();
      closed = true;
      const result = await cli.exited;
      expectExit(result, 3);
      expect(result.stderr).toContain(`cannot reach ${server.url}`);
      expect(result.stderr).toContain('retrying until the timeout');
      expect(result.stderr).toMatch(
        /no verdict within 20s \(--timeout\); at the end cannot reach \S+: ECONNREFUSED/,
      );
      expect(result.stdout).toBe('');
    } finally {
      if (!closed) await server.close();
    }
  });
});
