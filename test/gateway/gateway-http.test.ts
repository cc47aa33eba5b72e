// /gateway/mcp on `countersign serve` (COUNTERSIGN_GATEWAY): the SDK's real client over Streamable
// HTTP with an API key; a held call approved by a signed Slack click runs once; an unreachable
// downstream server is named in tool errors and in /readyz; bad keys and malformed JSON-RPC refused.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { freePort } from '../support/cli.ts';
import { serverScript } from '../support/gateway-client.ts';
import { pollUntil } from '../support/poll.ts';
import { APPROVE, TEAM_POLICY_YAML, startSlackHarness, type SlackHarness } from '../support/slack-harness.ts';
import { withPgClient } from '../support/api-fixtures.ts';

describe('/gateway/mcp (Streamable HTTP)', { timeout: 180_000 }, () => {
  let h: SlackHarness;
  let dir: string;
  let client: Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-gateway-http-'));
    const file = join(dir, 'gateway.yaml');
    const closedPort = await freePort();
    await writeFile(
      file,
      [
        'servers:',
        `  files: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(serverScript('@modelcontextprotocol/server-filesystem'))}, ${JSON.stringify(dir)}] }`,
        `  broken: { url: "http://127.0.0.1:${closedPort}/mcp", headers: { Authorization: "Bearer \${secret:broken-token}" } }`,
        'tools:',
        '  - { match: "files__write_file", decide: ask }',
        'readOnlyDefault: allow',
        'default: deny',
        'secrets:',
        '  broken-token: env:GW_HTTP_SECRET',
        '',
      ].join('\n'),
    );
    h = await startSlackHarness({
      policyYaml: TEAM_POLICY_YAML,
      env: { COUNTERSIGN_GATEWAY: file, GW_HTTP_SECRET: 'http-secret-value-93jd8s' },
    });
    const transport = new StreamableHTTPClientTransport(new URL('/gateway/mcp', h.t.url), {
      requestInit: {
        headers: {
          authorization: `Bearer ${h.key}`,
          'countersign-requester': 'alice@example.com',
          'countersign-agent': 'http-agent',
        },
      },
    });
    client = new Client({ name: 'gateway-http-test', version: '1.0.0' });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a call without an API key with problem+json, and malformed JSON-RPC with a JSON-RPC error', async () => {
    const anonymous = await h.t.call('POST', '/gateway/mcp', {
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      headers: {
        accept: 'application/json, text/event-stream',
        'countersign-requester': 'alice@example.com',
      },
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ code: 'API_KEY_MISSING' });

    const malformed = await h.t.call<{ jsonrpc: string; error: { code: number } }>('POST', '/gateway/mcp', {
      key: h.key,
      body: { jsonrpc: '2.0', id: 1, method: 42 },
      headers: {
        accept: 'application/json, text/event-stream',
        'countersign-requester': 'alice@example.com',
      },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });

    // A batch is refused whole, as on /mcp: its calls would pass the limits a single call meets.
    const batch = await h.t.call<{ jsonrpc: string; error: { code: number } }>('POST', '/gateway/mcp', {
      key: h.key,
      body: [
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'files__write_file', arguments: {} } },
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      ],
      headers: {
        accept: 'application/json, text/event-stream',
        'countersign-requester': 'alice@example.com',
      },
    });
    expect(batch.status).toBe(400);
    expect(batch.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    // Still answering.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('names an unreachable downstream server in /readyz and in its tool errors, never its secret', async () => {
    const ready = await h.t.call<{ gateway?: Record<string, { healthy: boolean; error?: string }> }>(
      'GET',
      '/readyz',
    );
    expect(ready.status).toBe(200);
    expect(ready.body.gateway?.['files']).toEqual({ healthy: true });
    expect(ready.body.gateway?.['broken']).toMatchObject({
      healthy: false,
      error: expect.any(String) as string,
    });
    const result = (await client.callTool({ name: 'broken__anything', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    const text = result.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    expect(text).toMatch(/^downstream server "broken" is unavailable: /);
    expect(JSON.stringify(ready.body) + text).not.toContain('http-secret-value-93jd8s');
  });

  it('holds write_file until a Slack approval, then writes exactly the stored arguments once', async () => {
    const args = { path: join(dir, 'over-http.txt'), content: 'approved over HTTP' };
    const action = 'mcp.files.write_file';
    const progress: Progress[] = [];
    const pending = client.callTool({ name: 'files__write_file', arguments: args }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 20_000,
      resetTimeoutOnProgress: true,
    });
    const id = (await pollUntil(
      () =>
        withPgClient(h.t.database.url, async (c) => {
          const { rows } = await c.query<{ id: string }>(
            'SELECT id::text AS id FROM approval_requests WHERE payload_digest = $1',
            [payloadDigest(action, args)],
          );
          return rows[0]?.id;
        }),
      (value): value is string => typeof value === 'string',
      { what: 'the held call to become a request' },
    )) as string;
    const card = await h.waitForCard(id);
    await pollUntil(
      () => Promise.resolve(progress.length),
      (n) => n >= 1,
      { what: 'a progress notification' },
    );
    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    const result = (await pending) as CallToolResult;
    expect(result.isError ?? false).toBe(false);
    expect(await readFile(args.path, 'utf8')).toBe('approved over HTTP');
    const stored = await h.get(id);
    expect(stored).toMatchObject({
      requester: { email: 'alice@example.com' },
      agent: { name: 'http-agent' },
    });
    const audit = await h.audit(id);
    expect(audit.filter((e) => e.type === 'request.executed').map((e) => e.payload['outcome'])).toEqual([
      'started',
      'succeeded',
    ]);
  });
});
