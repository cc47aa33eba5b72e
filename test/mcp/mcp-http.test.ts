// /mcp on `countersign serve` (Streamable HTTP) with the SDK's real client: Bearer key and scopes,
// requester and agent from the connection's headers, the same refusals as stdio, and a shutdown
// while a tool waits ends the call with a clear error instead of a silent hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { ApprovalToolResult } from '../../apps/server/src/mcp/approval-tools.ts';
import { expectProblem, withPgClient } from '../support/api-fixtures.ts';
import { callTool, connectHttp, verifyReceipt, type McpConnection } from '../support/mcp-client.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const REQUESTER = 'alice@example.com';
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const MCP_ACCEPT = { accept: 'application/json, text/event-stream' };

async function pendingIds(t: TestServer): Promise<string[]> {
  return withPgClient(t.database.url, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      "SELECT id::text AS id FROM approval_requests WHERE status = 'pending' ORDER BY created_at",
    );
    return rows.map((r) => r.id);
  });
}

describe('/mcp (Streamable HTTP)', { timeout: 120_000 }, () => {
  let t: TestServer;
  let key: string;
  let mcp: McpConnection;
  const headers = (k: string, more: Record<string, string> = {}) => ({
    authorization: `Bearer ${k}`,
    'countersign-requester': REQUESTER,
    'countersign-agent': 'support-bot',
    ...more,
  });

  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey('agent-platform'));
    mcp = await connectHttp(t.url, headers(key));
  });
  afterAll(async () => {
    await mcp?.close();
    await t?.close();
  });

  it('lists the tools', async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'cancel_approval',
      'get_approval',
      'request_approval',
    ]);
  });

  it('waits for the verdict with progress notifications and returns a receipt that verifies', async () => {
    const context = { ticket: 'SUP-42', refund: 120 };
    const call = callTool(mcp, 'request_approval', { action: 'billing.refund', context });
    const [id] = await pollUntil(
      () => pendingIds(t),
      (ids) => ids.length === 1,
      { what: 'the request to be created' },
    );
    await call.progressed(2);
    await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId: id ?? '',
      verdict: 'approve',
      reason: 'within policy',
      approver: approver('bob@example.com'),
    });
    const { result, progress, text } = await call;
    expect(result.isError ?? false, text).toBe(false);
    const out = result.structuredContent as ApprovalToolResult;
    expect(out).toMatchObject({
      id,
      status: 'approved',
      payloadDigest: payloadDigest('billing.refund', context),
    });
    expect(text).toBe(
      `Approved by bob@example.com (slack); reason: within policy. You may now do billing.refund exactly as requested (request ${id}).`,
    );
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(await verifyReceipt(t.url, out.receipt ?? '')).toMatchObject({ id, status: 'approved' });

    const stored = await t.call<{ requester: { email: string }; agent: unknown }>(
      'GET',
      `/v1/approvals/${id}`,
      {
        key,
      },
    );
    expect(stored.body.requester.email).toBe(REQUESTER);
    expect(stored.body.agent).toEqual({ name: 'support-bot' });
  });

  it('refuses identity arguments and widening, as over stdio', async () => {
    const identity = await callTool(mcp, 'request_approval', {
      action: 'billing.refund',
      requester: { email: 'bob@example.com' },
      callbackUrl: 'https://203.0.113.10/hook',
    });
    expect(identity.result.isError).toBe(true);
    expect(identity.text).toMatch(/requester, callbackUrl cannot be set by a tool call/);
    const widened = await callTool(mcp, 'request_approval', { action: 'billing.refund', expiresIn: '40d' });
    expect(widened.result.isError).toBe(true);
    expect(widened.text).toMatch(/expiresIn/);
    expect(await pendingIds(t)).toEqual([]);
  });

  it('refuses a reason over 2,000 characters as typed, naming both lengths, and creates nothing', async () => {
    // 1,990 characters and 20 line breaks sent as CRLF: 2,030 UTF-16 units, 2,010 as typed.
    const tooLong = await callTool(mcp, 'request_approval', {
      action: 'billing.refund',
      reason: 'x'.repeat(1970) + '\r\ny'.repeat(20),
    });
    expect(tooLong.result.isError).toBe(true);
    expect(tooLong.text).toContain(
      'the reason is 2,010 characters long (line breaks count once); the limit is 2,000',
    );
    expect(await pendingIds(t)).toEqual([]);
  });

  it('refuses a context over 32 KiB as POST /v1/approvals does, and creates nothing', async () => {
    const tooLarge = await callTool(mcp, 'request_approval', {
      action: 'billing.refund',
      context: { blob: 'x'.repeat(40 * 1024) },
    });
    expect(tooLarge.result.isError).toBe(true);
    expect(tooLarge.text).toContain(
      'PAYLOAD_TOO_LARGE: context is larger than 32 KiB (/context: larger than 32 KiB)',
    );
    expect(await pendingIds(t)).toEqual([]);
  });

  it('refuses a JSON-RPC batch with a JSON-RPC error, and creates nothing', async () => {
    const call = (id: number) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'request_approval', arguments: { action: 'billing.refund', title: `batched ${id}` } },
    });
    for (const batch of [[INITIALIZE, ...Array.from({ length: 20 }, (_, i) => call(i + 2))], [call(2)]]) {
      const response = await fetch(`${t.url}/mcp`, {
        method: 'POST',
        headers: { ...headers(key), ...MCP_ACCEPT, 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32600,
          message:
            'JSON-RPC batches are not supported (the current MCP specification removed them): send one call per request',
        },
      });
    }
    expect(await pendingIds(t)).toEqual([]);
  });

  it('checks scopes per tool: a read-only key may read but not create', async () => {
    const reader = await t.createKey('reader', ['approvals:read']);
    const readOnly = await connectHttp(t.url, headers(reader.key));
    try {
      const { result, text } = await callTool(readOnly, 'request_approval', { action: 'billing.refund' });
      expect(result.isError).toBe(true);
      expect(text).toContain('INSUFFICIENT_SCOPE');
    } finally {
      await readOnly.close();
    }
  });

  it('refuses a call without a key, with a bad key, or without a requester header', async () => {
    const post = (h: Record<string, string>) =>
      t.call('POST', '/mcp', { body: INITIALIZE, headers: { ...MCP_ACCEPT, ...h } });
    expectProblem(await post({}), 'API_KEY_MISSING');
    expectProblem(await post({ authorization: 'Bearer cs_nope' }), 'API_KEY_INVALID');
    expectProblem(await post({ authorization: `Bearer ${key}` }), 'VALIDATION_FAILED', [
      '/countersign-requester',
    ]);
    expectProblem(
      await post({ authorization: `Bearer ${key}`, 'countersign-requester': 'not-an-email' }),
      'VALIDATION_FAILED',
      ['/countersign-requester'],
    );
    expect((await t.call('GET', '/mcp', { headers: { authorization: `Bearer ${key}` } })).status).toBe(405);
  });
});

describe('/mcp while the server shuts down', { timeout: 120_000 }, () => {
  it('ends a waiting tool call with an error that says how to keep waiting', async () => {
    // A short grace: the client's idle keep-alive connection is only closed when it runs out.
    const t = await startTestServer({ env: { COUNTERSIGN_SHUTDOWN_GRACE_MS: '1000' } });
    const { key } = await t.createKey('agent-platform');
    const mcp = await connectHttp(t.url, {
      authorization: `Bearer ${key}`,
      'countersign-requester': REQUESTER,
    });
    try {
      const call = callTool(mcp, 'request_approval', { action: 'deploy.production' });
      const [id] = await pollUntil(
        () => pendingIds(t),
        (ids) => ids.length === 1,
        { what: 'the request to be created' },
      );
      await t.server.close();
      const { result, text } = await call;
      expect(result.isError).toBe(true);
      expect(text).toBe(
        `Countersign is shutting down; request ${id} is still pending: call get_approval with its id to keep waiting`,
      );
    } finally {
      await mcp.close();
      await t.close();
    }
  });
});
