// `countersign gateway` over stdio in front of the real server-filesystem and server-everything,
// with a running Countersign whose Slack card is clicked with a signed request: listing, allowed
// calls, held calls approved and forwarded once with the stored arguments, denials, progress,
// the no-progress-token path, a secret that never comes back, and a SIGKILL while a call is held.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { killRunningClis } from '../support/cli.ts';
import { connectGateway, serverScript, type GatewayConnection } from '../support/gateway-client.ts';
import { pollUntil } from '../support/poll.ts';
import {
  APPROVE,
  DENY,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  TEAM_POLICY_YAML,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

const REQUESTER = 'alice@example.com';
const SECRET = 'gw-secret-Zq8vL2pX9mK4nR7tW1yB';

interface Call {
  result: CallToolResult;
  progress: Progress[];
  text: string;
}

async function call(
  gateway: GatewayConnection,
  name: string,
  args: Record<string, unknown>,
  withProgress: boolean,
  progress: Progress[] = [],
): Promise<Call> {
  const result = (await gateway.client.callTool(
    { name, arguments: args },
    undefined,
    withProgress
      ? { onprogress: (p) => progress.push(p), timeout: 20_000, resetTimeoutOnProgress: true }
      : { timeout: 60_000 },
  )) as CallToolResult;
  const text = result.content
    .map((c) => (c.type === 'text' ? c.text : ''))
    .join('\n')
    .trim();
  return { result, progress, text };
}

describe('countersign gateway (stdio)', { timeout: 240_000 }, () => {
  let h: SlackHarness;
  let dir: string;
  let gatewayFile: string;
  let gateway: GatewayConnection;
  /** The same gateway file, answering held calls without a progress token after 2 s. */
  let quick: GatewayConnection;

  const env = () => ({
    COUNTERSIGN_URL: h.t.url,
    COUNTERSIGN_API_KEY: h.key,
    COUNTERSIGN_REQUESTER: REQUESTER,
    COUNTERSIGN_AGENT: 'coding-agent',
    GW_TEST_SECRET: SECRET,
  });
  const start = (...extra: string[]) => connectGateway(['--config', gatewayFile, ...extra], env());

  const query = <R>(sql: string, params: unknown[] = []) =>
    withPgClient(h.t.database.url, async (c) => (await c.query(sql, params)).rows as R[]);

  /** The id of the request for this exact action and context, once the gateway has created it. */
  const requestFor = (action: string, context: Record<string, unknown>, after = 0) =>
    pollUntil(
      async () => {
        const rows = await query<{ id: string }>(
          `SELECT id::text AS id FROM approval_requests WHERE action = $1 AND payload_digest = $2
            ORDER BY created_at DESC`,
          [action, payloadDigest(action, context)],
        );
        return rows.length > after ? rows[0]?.id : undefined;
      },
      (id): id is string => typeof id === 'string',
      { what: `the gateway to create a request for ${action}` },
    ) as Promise<string>;

  const approve = async (id: string) => {
    const card = await h.waitForCard(id);
    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    await h.waitForStatus(id, 'approved');
  };

  const executions = (id: string) =>
    query<{ outcome: string; payloadDigest: string; detail: string | null }>(
      `SELECT outcome::text AS outcome, payload_digest AS "payloadDigest", detail
         FROM request_executions WHERE request_id = $1`,
      [id],
    );

  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML });
    dir = await mkdtemp(join(tmpdir(), 'cs-gateway-'));
    await writeFile(join(dir, 'notes.txt'), 'hello from the allowed read\n');
    gatewayFile = join(dir, 'gateway.yaml');
    await writeFile(
      gatewayFile,
      [
        'servers:',
        `  files: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(serverScript('@modelcontextprotocol/server-filesystem'))}, ${JSON.stringify(dir)}] }`,
        `  everything: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(serverScript('@modelcontextprotocol/server-everything'))}, stdio], env: { SERVICE_TOKEN: "secret:service-token" } }`,
        'tools:',
        '  - { match: "files__move_file", decide: deny }',
        '  - { match: "files__write_file", decide: ask }',
        '  - { match: "files__read_*", decide: allow }',
        '  - { match: "everything__get-env", decide: allow }',
        '  - { match: "everything__echo", decide: ask }',
        'readOnlyDefault: allow',
        'default: deny',
        'secrets:',
        '  service-token: env:GW_TEST_SECRET',
        '',
      ].join('\n'),
    );
    gateway = await start();
    quick = await start('--pending-after', '2');
  });
  afterAll(async () => {
    await gateway?.close();
    await quick?.close();
    await killRunningClis();
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists the downstream tools as <server>__<tool> with their schemas, leaving denied ones out', async () => {
    const { tools } = await gateway.client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain('files__write_file');
    expect(names).toContain('files__read_text_file');
    expect(names).toContain('everything__get-env');
    expect(names).toContain('everything__echo');
    // Denied by an entry, and by `default: deny` (not read-only, named by no entry).
    expect(names).not.toContain('files__move_file');
    expect(names).not.toContain('files__edit_file');
    // Read-only tools named by no entry: readOnlyDefault allow.
    expect(names).toContain('files__list_directory');
    const write = tools.find((t) => t.name === 'files__write_file');
    expect(write?.description).toMatch(/overwrite an existing file/);
    expect(write?.inputSchema).toMatchObject({ type: 'object', properties: { path: {}, content: {} } });
    const getEnv = tools.find((t) => t.name === 'everything__get-env');
    expect(getEnv?.annotations).toMatchObject({ readOnlyHint: true });
    expect(JSON.stringify(tools)).not.toContain(SECRET);
  });

  it('forwards an allowed call at once, creating no request, and puts it in the chain', async () => {
    const before = await query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
    const { result, text } = await call(
      gateway,
      'files__read_text_file',
      { path: join(dir, 'notes.txt') },
      false,
    );
    expect(result.isError ?? false, text).toBe(false);
    expect(text).toContain('hello from the allowed read');
    const after = await query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
    expect(after[0]?.n).toBe(before[0]?.n);
    // In the chain all the same: which tool, for whom, the digests of its arguments and result.
    const events = await query<{ actor: string; payload: Record<string, unknown> }>(
      `SELECT actor, payload FROM audit_events WHERE type = 'gateway.call.forwarded' AND payload->>'tool' = 'read_text_file'`,
    );
    expect(events).toEqual([
      {
        actor: `client:${h.clientId}`,
        payload: {
          clientId: h.clientId,
          server: 'files',
          tool: 'read_text_file',
          requester: REQUESTER,
          agent: 'coding-agent',
          payloadDigest: payloadDigest('mcp.files.read_text_file', { path: join(dir, 'notes.txt') }),
          isError: false,
          resultDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as string,
          error: null,
          secrets: [],
        },
      },
    ]);
  });

  it('refuses a denied tool with a JSON-RPC error and runs nothing', async () => {
    await writeFile(join(dir, 'stay.txt'), 'stay');
    await expect(
      gateway.client.callTool({
        name: 'files__move_file',
        arguments: { source: join(dir, 'stay.txt'), destination: join(dir, 'moved.txt') },
      }),
    ).rejects.toThrow(/Unknown tool: files__move_file/);
    expect(existsSync(join(dir, 'stay.txt'))).toBe(true);
    expect(existsSync(join(dir, 'moved.txt'))).toBe(false);
  });

  it('holds a call, sends progress, and forwards the stored arguments once after a Slack approval', async () => {
    const args = { path: join(dir, 'approved.txt'), content: 'written after approval' };
    const action = 'mcp.files.write_file';
    const live: Progress[] = [];
    const pending = call(gateway, 'files__write_file', args, true, live);
    const id = await requestFor(action, args);
    // Held: nothing written while the request is pending, and progress keeps the client waiting.
    await pollUntil(
      async () => (await h.get(id)).status,
      (s) => s === 'pending',
      { what: 'the request to be pending' },
    );
    const card = await h.waitForCard(id);
    expect(existsSync(args.path)).toBe(false);
    await pollUntil(
      () => Promise.resolve(live.length),
      (n) => n >= 1,
      { what: 'a progress notification while the call is held' },
    );
    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    const { result, progress, text } = await pending;
    expect(result.isError ?? false, text).toBe(false);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]?.message).toContain(`waiting for approval ${id}: 0/1 approvals`);
    expect(await readFile(args.path, 'utf8')).toBe('written after approval');

    const stored = await h.get(id);
    expect(stored).toMatchObject({
      action,
      requester: { email: REQUESTER },
      agent: { name: 'coding-agent' },
      context: args,
      payloadDigest: payloadDigest(action, args),
      title: 'write_file on files',
    });
    expect(stored.reason).toMatch(/^Tool description: Create a new file/);
    const runs = await executions(id);
    expect(runs).toEqual([
      {
        outcome: 'succeeded',
        payloadDigest: payloadDigest(action, args),
        detail: expect.stringMatching(
          /^files__write_file: isError=false; result sha256:[0-9a-f]{64}$/,
        ) as string,
      },
    ]);
    // The requester's notice is sent after the verdict by a job, so it may come before or after the
    // executions; everything else is in this order.
    const audit = await pollUntil(
      () => h.audit(id),
      (events) => events.some((e) => e.type === 'requester.notified'),
      { what: `the requester's notice of ${id}` },
    );
    const types = audit.map((e) => e.type);
    expect(types.filter((t) => t !== 'requester.notified')).toEqual([
      'request.created',
      'decision.recorded',
      'request.approved',
      'request.executed',
      'request.executed',
    ]);
    expect(types.filter((t) => t === 'requester.notified')).toHaveLength(1);
    expect(types.indexOf('requester.notified')).toBeGreaterThan(types.indexOf('request.approved'));

    // The same call again is a new request: the approval was used once.
    const again = await call(quick, 'files__write_file', args, false);
    expect(again.result.isError).toBe(true);
    expect(again.text).toMatch(/^pending approval [0-9a-f-]{36}, call again with the same arguments/);
    expect(again.text).not.toContain(id);
  });

  it('answers a denied call with isError, who denied and why, and writes nothing', async () => {
    const args = { path: join(dir, 'denied.txt'), content: 'must never be written' };
    const pending = call(gateway, 'files__write_file', args, true);
    const id = await requestFor('mcp.files.write_file', args);
    const card = await h.waitForCard(id);
    const triggerId = h.driver.newTriggerId();
    const viewsBefore = h.fake.views().length;
    expect((await h.click('U0BOB', card, DENY, { triggerId })).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    const submitted = await h.driver.send(
      h.driver.viewSubmission({
        userId: 'U0BOB',
        callbackId: opened.view.callback_id ?? '',
        privateMetadata: opened.view.private_metadata ?? '',
        values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'not in the shared folder' } },
        viewId: opened.id,
        ...(opened.view.blocks ? { blocks: opened.view.blocks } : {}),
      }),
    );
    expect(submitted.status).toBe(200);
    const { result, text } = await pending;
    expect(result.isError).toBe(true);
    expect(text).toBe(
      `Denied by bob@example.com (slack); reason: not in the shared folder. files__write_file was not run (approval request ${id}).`,
    );
    expect(existsSync(args.path)).toBe(false);
    expect(await executions(id)).toEqual([]);
    // The model retrying the same call gets the same denial, not a new card.
    const retry = await call(gateway, 'files__write_file', args, true);
    expect(retry.result.isError).toBe(true);
    expect(retry.text).toContain(`approval request ${id}`);
    expect(existsSync(args.path)).toBe(false);
  });

  it('without a progress token answers "pending approval <id>", and the same call later joins it', async () => {
    const args = { path: join(dir, 'later.txt'), content: 'written on the second call' };
    const first = await call(quick, 'files__write_file', args, false);
    expect(first.result.isError).toBe(true);
    const id = await requestFor('mcp.files.write_file', args);
    expect(first.text).toBe(
      `pending approval ${id}, call again with the same arguments (files__write_file is held until a person approves it; it has not run)`,
    );
    expect(existsSync(args.path)).toBe(false);
    // A second call while pending joins the same request; no second card, no second request.
    const second = await call(quick, 'files__write_file', args, false);
    expect(second.text).toContain(`pending approval ${id},`);
    expect(await requestFor('mcp.files.write_file', args)).toBe(id);

    await approve(id);
    const third = await call(quick, 'files__write_file', args, false);
    expect(third.result.isError ?? false, third.text).toBe(false);
    expect(await readFile(args.path, 'utf8')).toBe('written on the second call');
    expect((await executions(id)).map((e) => e.outcome)).toEqual(['succeeded']);
    const rows = await query<{ n: number }>(
      'SELECT count(*)::int AS n FROM approval_requests WHERE payload_digest = $1',
      [payloadDigest('mcp.files.write_file', args)],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('injects a secret into the downstream environment that never comes back through get-env', async () => {
    const { result, text } = await call(gateway, 'everything__get-env', {}, false);
    expect(result.isError ?? false, text).toBe(false);
    // The variable reached the server (its name is there) but its value was redacted on the way back.
    expect(text).toMatch(/"SERVICE_TOKEN": "••••/);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain(SECRET.slice(0, 12));
    // Nor the gateway's own API key: the downstream environment holds only what the file gives it.
    expect(JSON.stringify(result)).not.toContain(h.key);
    expect(gateway.stderr()).not.toContain(SECRET);
  });

  it('loses nothing when the gateway is killed while a call is held: the retry is answered from the stored verdict', async () => {
    const args = { message: `after the crash ${Date.now()}` };
    const doomed = await start();
    const held = call(doomed, 'everything__echo', args, true).catch((error: unknown) => error);
    const id = await requestFor('mcp.everything.echo', args);
    if (!doomed.pid) throw new Error('no gateway pid');
    process.kill(doomed.pid, 'SIGKILL');
    expect(await held).toBeInstanceOf(Error);
    await approve(id);

    const restarted = await start();
    try {
      const { result, text } = await call(restarted, 'everything__echo', args, true);
      expect(result.isError ?? false, text).toBe(false);
      expect(text).toBe(`Echo: ${args.message}`);
      expect(await requestFor('mcp.everything.echo', args)).toBe(id);
      // Which secret the call's server held is recorded, never its value.
      expect(await executions(id)).toEqual([
        {
          outcome: 'succeeded',
          payloadDigest: payloadDigest('mcp.everything.echo', args),
          detail: expect.stringMatching(
            /^everything__echo: isError=false; result sha256:[0-9a-f]{64}; secrets: service-token$/,
          ) as string,
        },
      ]);
    } finally {
      await restarted.close();
    }
  });
});
