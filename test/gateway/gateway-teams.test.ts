// A held gateway call approved from a Teams card: `countersign serve` (a child process, Bot Framework
// verification on) with COUNTERSIGN_GATEWAY, the SDK's client on /gateway/mcp, an Action.Execute
// invoke by an eligible member, and the file written once with the approved arguments.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { FAKE_TENANT_ID, fakeUser, teamChannel } from '../support/fake-teams/teams-activities.ts';
import { serverScript } from '../support/gateway-client.ts';
import { pollUntil } from '../support/poll.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:platform-team@thread.tacv2';
const CHANNEL = '19:agent-approvals@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Agent approvals');
const POLICY = `defaults:
  channel: teams:${CHANNEL}
rules:
  - name: agent-tools
    actions: ["mcp.*"]
    approvers: [bob@example.com]
`;
const bob = { ...fakeUser('bob'), email: 'bob@example.com' };

describe('gateway call approved in Teams', { timeout: 180_000 }, () => {
  let s: TeamsServer;
  let dir: string;
  let client: Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-gateway-teams-'));
    const file = join(dir, 'gateway.yaml');
    await writeFile(
      file,
      `servers:\n  files: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(serverScript('@modelcontextprotocol/server-filesystem'))}, ${JSON.stringify(dir)}] }\ntools:\n  - { match: "files__write_file", decide: ask }\ndefault: deny\n`,
    );
    s = await startTeamsServer({ policyYaml: POLICY, env: { COUNTERSIGN_GATEWAY: file } });
    s.fake.channel.addMember(TEAM, {
      id: bob.id,
      aadObjectId: bob.aadObjectId,
      name: bob.name,
      tenantId: FAKE_TENANT_ID,
      email: bob.email,
    });
    expect((await s.install(where, bob)).status).toBe(200);
    const transport = new StreamableHTTPClientTransport(new URL('/gateway/mcp', s.url), {
      requestInit: {
        headers: { authorization: `Bearer ${s.apiKey.key}`, 'countersign-requester': 'alice@example.com' },
      },
    });
    client = new Client({ name: 'gateway-teams-test', version: '1.0.0' });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
    await s?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('forwards the held call once, with the stored arguments, after an Action.Execute approve', async () => {
    const args = { path: join(dir, 'from-teams.txt'), content: 'approved in Teams' };
    const progress: Progress[] = [];
    const pending = client.callTool({ name: 'files__write_file', arguments: args }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 20_000,
      resetTimeoutOnProgress: true,
    });
    const id = (await pollUntil(
      () =>
        withPgClient(s.database.url, async (c) => {
          const { rows } = await c.query<{ id: string }>(
            'SELECT id::text AS id FROM approval_requests WHERE payload_digest = $1',
            [payloadDigest('mcp.files.write_file', args)],
          );
          return rows[0]?.id;
        }),
      (value): value is string => typeof value === 'string',
      { what: 'the held call to become a request' },
    )) as string;
    const card = await s.waitForCard(id, CHANNEL);
    const shown = JSON.stringify(card.versions[0]);
    expect(shown).toContain('write_file on files');
    expect(shown).toContain('from-teams.txt');
    expect(existsSync(args.path)).toBe(false);
    expect((await s.click(where, bob, card, 'approve', { requestId: id })).status).toBe(200);
    const result = (await pending) as CallToolResult;
    expect(result.isError ?? false).toBe(false);
    expect(await readFile(args.path, 'utf8')).toBe('approved in Teams');
    const approved = await s.get(id);
    expect(approved.decisions).toMatchObject([{ approver: { email: 'bob@example.com', platform: 'teams' } }]);
    const outcomes = await withPgClient(s.database.url, async (c) => {
      const { rows } = await c.query<{ outcome: string }>(
        'SELECT outcome::text AS outcome FROM request_executions WHERE request_id = $1',
        [id],
      );
      return rows.map((r) => r.outcome);
    });
    expect(outcomes).toEqual(['succeeded']);
  });
});
