// `countersign mcp` over stdio, driven by the SDK's real MCP client against a running server with
// Slack wired in: a tool call gated on a signed Slack click, progress while waiting, a receipt that
// verifies, identity arguments and widening refused, and a server restart while the tool waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { ApprovalToolResult } from '../../apps/server/src/mcp/approval-tools.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, freePort, killRunningClis, runCli } from '../support/cli.ts';
import { callTool, connectStdio, verifyReceipt, type McpConnection } from '../support/mcp-client.ts';
import { pollUntil } from '../support/poll.ts';
import { APPROVE, startSlackHarness, TEAM_POLICY_YAML, type SlackHarness } from '../support/slack-harness.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { startTestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const REQUESTER = 'alice@example.com';

async function requestCount(url: string): Promise<number> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
    return rows[0]?.n ?? -1;
  });
}

/** The id of the newest request, once one newer than `after` requests exists. */
async function newestRequestId(url: string, after: number): Promise<string> {
  return pollUntil(
    () =>
      withPgClient(url, async (client) => {
        const { rows } = await client.query<{ id: string; n: number }>(
          `SELECT (SELECT id::text FROM approval_requests ORDER BY created_at DESC, id DESC LIMIT 1) AS id,
                  (SELECT count(*)::int FROM approval_requests) AS n`,
        );
        return rows[0]?.n !== undefined && rows[0].n > after ? rows[0].id : undefined;
      }),
    (id): id is string => typeof id === 'string',
    { what: 'the MCP tool to create its request' },
  ) as Promise<string>;
}

describe('countersign mcp (stdio)', { timeout: 180_000 }, () => {
  let h: SlackHarness;
  let mcp: McpConnection;

  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML });
    mcp = await connectStdio({
      COUNTERSIGN_URL: h.t.url,
      COUNTERSIGN_API_KEY: h.key,
      COUNTERSIGN_REQUESTER: REQUESTER,
      COUNTERSIGN_AGENT: 'coding-agent',
    });
  });
  afterAll(async () => {
    await mcp?.close();
    await killRunningClis();
    await h?.close();
  });

  it('lists the three tools with strict input schemas that leave out who asks', async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['cancel_approval', 'get_approval', 'request_approval']);
    const request = tools.find((t) => t.name === 'request_approval');
    const schema = request?.inputSchema as {
      properties: Record<string, { pattern?: string }>;
      required?: string[];
      additionalProperties?: boolean;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['action']);
    expect(Object.keys(schema.properties).sort()).toEqual(
      [
        'action',
        'approvers',
        'breakGlass',
        'channel',
        'context',
        'expiresIn',
        'quorum',
        'reason',
        'sensitive',
        'title',
        'wait',
      ].sort(),
    );
    // The REST contract's own rule for action names.
    expect(schema.properties['action']?.pattern).toBe('^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$');
    expect(request?.outputSchema).toBeDefined();
  });

  it('gates a tool call on a Slack approval: progress while waiting, then a receipt that verifies', async () => {
    const context = { database: 'prod', statement: 'DELETE FROM sessions', password: 'hunter2-hunter2' };
    const before = await requestCount(h.t.database.url);
    const call = callTool(mcp, 'request_approval', {
      action: 'db.query',
      title: 'Clear the sessions table',
      reason: 'stale sessions after the incident',
      context,
    });
    const id = await newestRequestId(h.t.database.url, before);
    const card = await h.waitForCard(id);
    // More than one progress notification (one per 5 s long-poll) before the click.
    await call.progressed(2);
    const click = await h.click('U0BOB', card, APPROVE);
    expect(click.status).toBe(200);

    const { result, progress, text } = await call;
    expect(result.isError ?? false, text).toBe(false);
    const out = result.structuredContent as ApprovalToolResult;
    expect(out).toMatchObject({ id, status: 'approved', action: 'db.query' });
    expect(out.decisions).toEqual([
      expect.objectContaining({ approver: 'bob@example.com', platform: 'slack', verdict: 'approve' }),
    ]);
    expect(text).toMatch(/^Approved by bob@example\.com \(slack\)/);
    expect(out.payloadDigest).toBe(payloadDigest('db.query', context));

    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]?.message).toContain(`request ${id} is pending: 0/1 approvals`);
    expect(progress.map((p) => p.progress)).toEqual(
      [...progress.map((p) => p.progress)].sort((a, b) => a - b),
    );

    const receipt = await verifyReceipt(h.t.url, out.receipt ?? '');
    expect(receipt).toMatchObject({ id, status: 'approved', payloadDigest: out.payloadDigest });

    // Who asked is the server's configuration; the context was masked as always.
    const stored = await h.get(id);
    expect(stored.requester.email).toBe(REQUESTER);
    expect(stored.agent).toEqual({ name: 'coding-agent' });
    expect(stored.context['password']).not.toBe('hunter2-hunter2');
  });

  it.each([
    ['requester', { requester: { email: 'bob@example.com' } }, /requester cannot be set by a tool call/],
    ['agent', { agent: { name: 'someone-else' } }, /agent cannot be set by a tool call/],
    ['callbackUrl', { callbackUrl: 'https://203.0.113.10/hook' }, /callbackUrl cannot be set by a tool call/],
    ['an unknown field', { approveYourself: true }, /unknown argument: approveYourself/],
  ])('refuses %s in the arguments, and creates nothing', async (_name, extra, message) => {
    const before = await requestCount(h.t.database.url);
    const { result, text } = await callTool(mcp, 'request_approval', {
      action: 'db.query',
      wait: false,
      ...extra,
    });
    expect(result.isError).toBe(true);
    expect(text).toMatch(message);
    expect(await requestCount(h.t.database.url)).toBe(before);
  });

  it.each([
    ['an approver the policy does not allow', { approvers: ['mallory@example.com'] }, '/approvers'],
    ['a longer expiry than the policy', { expiresIn: '2d' }, '/expiresIn'],
    ['a channel the rule does not list', { channel: 'slack:C0ELSEWHERE' }, '/channel'],
  ])('refuses widening the policy: %s', async (_name, extra, pointer) => {
    const before = await requestCount(h.t.database.url);
    const { result, text } = await callTool(mcp, 'request_approval', {
      action: 'db.query',
      wait: false,
      ...extra,
    });
    expect(result.isError).toBe(true);
    expect(text).toContain('POLICY_VIOLATION');
    expect(text).toContain(pointer);
    expect(await requestCount(h.t.database.url)).toBe(before);
  });

  it('returns at once without wait, then get_approval waits and cancel_approval withdraws', async () => {
    const created = await callTool(mcp, 'request_approval', { action: 'db.query', wait: false });
    const pending = created.result.structuredContent as ApprovalToolResult;
    expect(pending.status).toBe('pending');
    expect(pending.receipt).toBeUndefined();
    expect(created.text).toContain('get_approval');

    const short = await callTool(mcp, 'get_approval', { id: pending.id, wait: 1 });
    expect((short.result.structuredContent as ApprovalToolResult).status).toBe('pending');
    expect(short.text).toMatch(/Still pending after 1 s/);

    const cancelled = await callTool(mcp, 'cancel_approval', { id: pending.id, reason: 'not needed' });
    expect((cancelled.result.structuredContent as ApprovalToolResult).status).toBe('cancelled');
    const again = await callTool(mcp, 'get_approval', { id: pending.id });
    expect(again.text).toMatch(/^Cancelled\. Do not do db\.query/);

    const unknown = await callTool(mcp, 'get_approval', { id: '7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10' });
    expect(unknown.result.isError).toBe(true);
    expect(unknown.text).toContain('NOT_FOUND');
  });
});

describe('countersign mcp (stdio) across a server restart', { timeout: 180_000 }, () => {
  it('keeps waiting while the server restarts, and returns the verdict decided after it', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const env = { PORT: String(port) };
    let t = await startTestServer({ database, env });
    const { key } = await t.createKey('agent-platform');
    const mcp = await connectStdio({
      COUNTERSIGN_URL: t.url,
      COUNTERSIGN_API_KEY: key,
      COUNTERSIGN_REQUESTER: REQUESTER,
    });
    try {
      const call = callTool(mcp, 'request_approval', { action: 'deploy.production', wait: 120 });
      const id = await newestRequestId(database.url, 0);
      await t.close();
      // The tool's long-poll fails and it retries against a closed port.
      await call.progressedWith('Countersign unreachable');
      t = await startTestServer({ database, env });
      await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
        requestId: id,
        verdict: 'approve',
        approver: approver('bob@example.com'),
      });
      const { result, progress, text } = await call;
      expect(result.isError ?? false, text).toBe(false);
      expect((result.structuredContent as ApprovalToolResult).status).toBe('approved');
      expect(progress.some((p) => p.message?.includes('Countersign unreachable'))).toBe(true);
    } finally {
      await mcp.close();
      await killRunningClis();
      await t.close();
      await database.drop();
    }
  });
});

describe('countersign mcp (stdio) configuration', { timeout: 120_000 }, () => {
  it.each([
    ['no requester', {}, 'set COUNTERSIGN_REQUESTER'],
    [
      'a requester that is not an email',
      { COUNTERSIGN_REQUESTER: 'alice' },
      'COUNTERSIGN_REQUESTER must be an email',
    ],
  ])('refuses to start with %s', async (_name, vars, message) => {
    const result = await runCli(
      ['mcp'],
      cliEnv({ COUNTERSIGN_URL: 'http://127.0.0.1:9', COUNTERSIGN_API_KEY: 'cs_x', ...vars }),
    );
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });
});
