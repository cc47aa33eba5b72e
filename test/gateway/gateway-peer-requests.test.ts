// Sampling and elicitation requests a downstream server sends while its tool runs: refused by
// default, with a reason the server can read; passed to the agent's client (and its answer back)
// when the gateway file says "forward". Real SDK client, real gateway process, real downstream.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type ElicitRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killRunningClis } from '../support/cli.ts';
import { connectGateway, type GatewayConnection } from '../support/gateway-client.ts';
import { TEAM_POLICY_YAML, startSlackHarness, type SlackHarness } from '../support/slack-harness.ts';

const SERVER = fileURLToPath(new URL('../support/peer-request-mcp-server.mjs', import.meta.url));

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

describe('gateway sampling and elicitation', { timeout: 180_000 }, () => {
  let h: SlackHarness;
  let dir: string;
  const sampled: CreateMessageRequest['params'][] = [];
  const elicited: ElicitRequest['params'][] = [];

  const start = async (settings: string): Promise<GatewayConnection> => {
    const file = join(dir, `gateway-${sampled.length}-${Date.now()}.yaml`);
    await writeFile(
      file,
      `servers:\n  peer: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(SERVER)}] }\ndefault: allow\n${settings}`,
    );
    return connectGateway(
      ['--config', file],
      { COUNTERSIGN_URL: h.t.url, COUNTERSIGN_API_KEY: h.key, COUNTERSIGN_REQUESTER: 'alice@example.com' },
      {
        capabilities: { sampling: {}, elicitation: {} },
        setup: (client) => {
          client.setRequestHandler(CreateMessageRequestSchema, (request) => {
            sampled.push(request.params);
            return {
              role: 'assistant',
              model: 'test-model',
              content: { type: 'text', text: 'a short summary' },
            };
          });
          client.setRequestHandler(ElicitRequestSchema, (request) => {
            elicited.push(request.params);
            return { action: 'accept', content: { ok: true } };
          });
        },
      },
    );
  };

  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML });
    dir = await mkdtemp(join(tmpdir(), 'cs-gateway-peer-'));
  });
  afterAll(async () => {
    await killRunningClis();
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses both by default, and the agent’s client is never asked', async () => {
    const gateway = await start('');
    try {
      const summarise = (await gateway.client.callTool({
        name: 'peer__summarise',
        arguments: {},
      })) as CallToolResult;
      expect(textOf(summarise)).toContain(
        'refused: MCP error -32601: the Countersign gateway refuses sampling requests (the gateway file says sampling: refuse)',
      );
      const confirm = (await gateway.client.callTool({
        name: 'peer__confirm',
        arguments: {},
      })) as CallToolResult;
      expect(textOf(confirm)).toContain(
        'refused: MCP error -32601: the Countersign gateway refuses elicitation requests (the gateway file says elicitation: refuse)',
      );
      expect(sampled).toEqual([]);
      expect(elicited).toEqual([]);
      expect(gateway.stderr()).toContain('peer: sampling request refused (sampling: refuse)');
    } finally {
      await gateway.close();
    }
  });

  it('forwards both to the agent’s client when the gateway file says forward', async () => {
    const gateway = await start('sampling: forward\nelicitation: forward\n');
    try {
      const summarise = (await gateway.client.callTool({
        name: 'peer__summarise',
        arguments: {},
      })) as CallToolResult;
      expect(textOf(summarise)).toBe('answered: {"type":"text","text":"a short summary"}');
      expect(sampled).toEqual([
        { messages: [{ role: 'user', content: { type: 'text', text: 'Summarise.' } }], maxTokens: 20 },
      ]);
      const confirm = (await gateway.client.callTool({
        name: 'peer__confirm',
        arguments: {},
      })) as CallToolResult;
      expect(textOf(confirm)).toBe('answered: {"action":"accept","content":{"ok":true}}');
      expect(elicited.map((p) => p.message)).toEqual(['Proceed?']);
      expect(gateway.stderr()).toContain("peer: sampling request forwarded to the agent's client");
    } finally {
      await gateway.close();
    }
  });

  it('forwards only what is set to forward', async () => {
    const before = elicited.length;
    const gateway = await start('sampling: forward\n');
    try {
      const confirm = (await gateway.client.callTool({
        name: 'peer__confirm',
        arguments: {},
      })) as CallToolResult;
      expect(textOf(confirm)).toContain('the Countersign gateway refuses elicitation requests');
      expect(elicited.length).toBe(before);
    } finally {
      await gateway.close();
    }
  });
});
