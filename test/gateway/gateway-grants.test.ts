// A time-bound grant through the real gateway: the approver clicks "Approve for 15 min" on the
// signed Slack card; the agent's next call of that tool passes at once, approved by the grant and
// recorded with its id, with no card; once revoked (POST /v1/grants/{id}/revoke, admin) the next
// call is held again.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { cliEnv, killRunningClis, runCli } from '../support/cli.ts';
import { connectGateway, type GatewayConnection } from '../support/gateway-client.ts';
import { pollUntil } from '../support/poll.ts';
import { CHANNEL, blockText, startSlackHarness, type SlackHarness } from '../support/slack-harness.ts';

const SERVER = fileURLToPath(new URL('../support/rug-pull-mcp-server.mjs', import.meta.url));
const POLICY = `defaults:
  channel: slack:${CHANNEL}
rules:
  - name: agent-tools
    actions: ["mcp.calc.*"]
    approvers: [bob@example.com]
    grant: { upTo: 1h }
`;

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

describe('gateway time-bound grants', { timeout: 240_000 }, () => {
  let h: SlackHarness;
  let dir: string;
  let gateway: GatewayConnection;

  const query = <R>(sql: string, params: unknown[] = []) =>
    withPgClient(h.t.database.url, async (c) => (await c.query(sql, params)).rows as R[]);
  const requestsOf = () =>
    query<{ id: string; status: string; context: unknown }>(
      `SELECT id::text, status::text, context FROM approval_requests WHERE action = 'mcp.calc.add' ORDER BY created_at`,
    );

  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: POLICY });
    dir = await mkdtemp(join(tmpdir(), 'cs-gateway-grants-'));
    const description = join(dir, 'description.txt');
    await writeFile(description, 'Adds two numbers.');
    const file = join(dir, 'gateway.yaml');
    await writeFile(
      file,
      `servers:\n  calc: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(SERVER)}, ${JSON.stringify(description)}] }\ndefault: ask\n`,
    );
    gateway = await connectGateway(['--config', file, '--pending-after', '3'], {
      COUNTERSIGN_URL: h.t.url,
      COUNTERSIGN_API_KEY: h.key,
      COUNTERSIGN_REQUESTER: 'alice@example.com',
      COUNTERSIGN_AGENT: 'coding-agent',
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await killRunningClis();
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes later calls in the window without a card, and holds them again once revoked', async () => {
    const first = gateway.client.callTool({ name: 'calc__add', arguments: { a: 1, b: 2 } }, undefined, {
      onprogress: () => undefined,
      timeout: 30_000,
      resetTimeoutOnProgress: true,
    });
    const [held] = await pollUntil(requestsOf, (rows) => rows.length === 1, {
      what: 'the held call to become a request',
    });
    if (!held) throw new Error('no request');
    const card = await h.waitForCard(held.id);
    expect(blockText(card)).toContain('Approve for 60 min');
    expect((await h.click('U0BOB', card, 'countersign_approve_for:15')).status).toBe(200);
    expect(textOf((await first) as CallToolResult)).toBe('3');

    const [grant] = await query<{ id: string; minutes: number; agent_name: string }>(
      'SELECT id::text, minutes, agent_name FROM grants WHERE request_id = $1::uuid',
      [held.id],
    );
    expect(grant).toMatchObject({ minutes: 15, agent_name: 'coding-agent' });
    if (!grant) throw new Error('no grant');

    // In the window: passes at once, without a progress token, and nobody is asked.
    const second = (await gateway.client.callTool({
      name: 'calc__add',
      arguments: { a: 2, b: 3 },
    })) as CallToolResult;
    expect(textOf(second)).toBe('5');
    const afterSecond = await requestsOf();
    expect(afterSecond).toHaveLength(2);
    const granted = afterSecond[1];
    if (!granted) throw new Error('no second request');
    expect(granted).toMatchObject({ status: 'approved', context: { a: 2, b: 3 } });
    expect(await h.cardRow(granted.id)).toBeUndefined();
    const events = await h.audit(granted.id);
    expect(events.map((e) => e.type)).toEqual([
      'request.created',
      'decision.recorded',
      'request.approved',
      'request.executed',
      'request.executed',
    ]);
    expect(events[1]).toMatchObject({ actor: `grant:${grant.id}`, payload: { grantId: grant.id } });

    // Revoked through the API (admin scope); an approvals key may not.
    const { key: adminKey } = await h.t.createKey('grants-admin', ['admin']);
    const denied = await fetch(`${h.t.url}/v1/grants/${grant.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.key}` },
    });
    expect(denied.status).toBe(403);
    const listed = await fetch(`${h.t.url}/v1/grants?open=true`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(((await listed.json()) as { items: { id: string; uses: number }[] }).items).toEqual([
      expect.objectContaining({ id: grant.id, uses: 1, status: 'open' }),
    ]);
    const revoked = await fetch(`${h.t.url}/v1/grants/${grant.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ revoked: true, grant: { status: 'revoked' } });

    const third = (await gateway.client.callTool({
      name: 'calc__add',
      arguments: { a: 3, b: 4 },
    })) as CallToolResult;
    expect(third.isError).toBe(true);
    expect(textOf(third)).toMatch(/^pending approval [0-9a-f-]{36}, call again with the same arguments/);

    // The operator's view on the server host.
    const env = cliEnv({ DATABASE_URL: h.t.database.url });
    const list = await runCli(['grants', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(
      `${grant.id}  mcp.calc.add  alice@example.com agent coding-agent  15 min  revoked`,
    );
    expect(list.stdout).toContain('uses 1  by bob@example.com');
    const again = await runCli(['grants', 'revoke', grant.id], env);
    expect(again.stdout.trim()).toBe(`${grant.id} was not open (revoked)`);
    const missing = await runCli(['grants', 'revoke', 'not-a-grant'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no grant with id not-a-grant');
  });
});
