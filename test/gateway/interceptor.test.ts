// POST /gateway/interceptor driven with the exact bodies docker/mcp-gateway's `before:http`
// interceptor sends (capitalised Session/Params/Extra, no Content-Type, no auth header): a held call
// answers at once with "pending approval <id>", passes once after a signed Slack approval, and
// answers a denial with a CallToolResult naming who denied and why.
import { request } from 'node:http';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import {
  APPROVE,
  DENY,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  TEAM_POLICY_YAML,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

interface RawAnswer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** POSTs like docker/mcp-gateway's Go http.Post: the body as given and no Content-Type header. */
function post(url: string, body: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', headers: { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: text }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The body of json.Marshal(*mcp.CallToolRequest) over stdio: no JSON tags, Extra nil. */
function goSdkBody(name: string, args: Record<string, unknown>): string {
  return JSON.stringify({
    Session: {},
    Params: { _meta: { progressToken: 7 }, name, arguments: args },
    Extra: null,
  });
}

describe('docker/mcp-gateway before:http interceptor', { timeout: 120_000 }, () => {
  let h: SlackHarness;
  let url: string;

  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML });
    url = `${h.t.url}/gateway/interceptor?api_key=${encodeURIComponent(h.key)}&requester=alice%40example.com&agent=docker-agent&server=github`;
  });
  afterAll(async () => {
    await h?.close();
  });

  const requestFor = async (action: string, args: Record<string, unknown>) =>
    withPgClient(h.t.database.url, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        'SELECT id::text AS id FROM approval_requests WHERE action = $1 AND payload_digest = $2 ORDER BY created_at',
        [action, payloadDigest(action, args)],
      );
      return rows.map((r) => r.id);
    });

  it('answers a held call at once with a pending CallToolResult, and lets the same call through once after approval', async () => {
    const args = { owner: 'acme', repo: 'api', title: 'Rotate the keys' };
    const first = await post(url, goSdkBody('create_issue', args));
    const result = CallToolResultSchema.parse(JSON.parse(first.body));
    const [id] = await requestFor('mcp.github.create_issue', args);
    expect(id).toBeDefined();
    expect(result).toEqual({
      isError: true,
      content: [
        {
          type: 'text',
          text: `pending approval ${id}, call again with the same arguments (github__create_issue is held until a person approves it; it has not run)`,
        },
      ],
    });
    const stored = await h.get(id ?? '');
    expect(stored).toMatchObject({
      requester: { email: 'alice@example.com' },
      agent: { name: 'docker-agent' },
      context: args,
    });

    // The same call again while pending joins the same request.
    const again = await post(url, goSdkBody('create_issue', args));
    expect(again.body).toContain(`pending approval ${id},`);
    expect(await requestFor('mcp.github.create_issue', args)).toEqual([id]);

    const card = await h.waitForCard(id ?? '');
    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    await h.waitForStatus(id ?? '', 'approved');
    const through = await post(url, goSdkBody('create_issue', args));
    expect(through.body).toBe('');
    const audit = await h.audit(id ?? '');
    expect(audit.filter((e) => e.type === 'request.executed').map((e) => e.payload['outcome'])).toEqual([
      'started',
    ]);

    // Once: the next identical call is a new request, held again.
    const next = await post(url, goSdkBody('create_issue', args));
    expect(next.body).toMatch(/pending approval [0-9a-f-]{36}, call again/);
    expect(next.body).not.toContain(id);
  });

  it('answers a denied call with the approver and the reason', async () => {
    const args = { owner: 'acme', repo: 'api' };
    await post(url, goSdkBody('delete_repository', args));
    const [id] = await requestFor('mcp.github.delete_repository', args);
    const card = await h.waitForCard(id ?? '');
    const triggerId = h.driver.newTriggerId();
    const viewsBefore = h.fake.views().length;
    expect((await h.click('U0BOB', card, DENY, { triggerId })).status).toBe(200);
    const opened = (await h.fake.waitForViews(viewsBefore + 1)).at(-1);
    if (!opened) throw new Error('no modal opened');
    await h.driver.send(
      h.driver.viewSubmission({
        userId: 'U0BOB',
        callbackId: opened.view.callback_id ?? '',
        privateMetadata: opened.view.private_metadata ?? '',
        values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'never delete the api repo' } },
        viewId: opened.id,
        ...(opened.view.blocks ? { blocks: opened.view.blocks } : {}),
      }),
    );
    await h.waitForStatus(id ?? '', 'denied');
    const answer = await post(url, goSdkBody('delete_repository', args));
    expect(CallToolResultSchema.parse(JSON.parse(answer.body))).toEqual({
      isError: true,
      content: [
        {
          type: 'text',
          text: `Denied by bob@example.com (slack); reason: never delete the api repo. github__delete_repository was not run (approval request ${id}).`,
        },
      ],
    });
  });

  it('refuses a body it cannot read with a 400 CallToolResult, and a missing key with 401, creating nothing', async () => {
    const before = await withPgClient(
      h.t.database.url,
      async (c) => (await c.query('SELECT 1 FROM approval_requests')).rowCount,
    );
    // The README's lower-case form is not what the gateway sends; Params is required.
    const lower = await post(url, JSON.stringify({ params: { name: 'x', arguments: {} } }));
    expect(lower.status).toBe(400);
    expect(CallToolResultSchema.parse(JSON.parse(lower.body))).toMatchObject({
      isError: true,
      content: [
        {
          type: 'text',
          text: 'Countersign could not read the intercepted call: /Params: Invalid input: expected object, received undefined',
        },
      ],
    });
    const notJson = await post(url, 'not json');
    expect(notJson.status).toBe(400);
    const anonymous = await post(url.replace(/api_key=[^&]+&/, ''), goSdkBody('create_issue', { a: 1 }));
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ code: 'API_KEY_MISSING' });
    const badKey = await post(
      url.replace(/api_key=[^&]+&/, 'api_key=cs_wrong&'),
      goSdkBody('create_issue', { a: 1 }),
    );
    expect(badKey.status).toBe(401);
    const after = await withPgClient(
      h.t.database.url,
      async (c) => (await c.query('SELECT 1 FROM approval_requests')).rowCount,
    );
    expect(after).toBe(before);
  });
});
