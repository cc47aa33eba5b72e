// The development sign-in and the console's web defences, without a browser: loopback only, the
// banner on every page, CSRF on every form, decisions marked in the audit trail and the report,
// the sign-in rate limit, the security headers, Secure cookies behind https, the Audit page for
// auditors only, and the page shown when no sign-in is configured.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../apps/server/src/config.ts';
import { changeKeyAdmins } from '../../apps/server/src/keys/change-key-admins.ts';
import { createApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { createCookieAgent, csrfTokenOf, type CookieAgent } from '../support/cookie-agent.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `groups:
  reviewers: [bob@example.com, carol@example.com]
  auditors: [audrey@example.com]
rules:
  - name: deletions
    actions: ["db.drop"]
    approvers: [group:reviewers]
    denyReason: required
  - name: everything
    actions: ["*"]
    approvers: [group:reviewers]
`;

let policy: TempPolicyFile;
let t: TestServer;
let key: string;

async function devSignIn(email: string, server: TestServer = t): Promise<CookieAgent> {
  const agent = createCookieAgent();
  const page = await agent.request('GET', `${server.url}/signin`);
  const done = await agent.request('POST', `${server.url}/auth/dev`, {
    email,
    _csrf: csrfTokenOf(page.text),
  });
  expect(done.status, done.text).toBe(303);
  return agent;
}

beforeAll(async () => {
  policy = await writeTempPolicy(POLICY);
  t = await startTestServer({
    env: {
      COUNTERSIGN_DEV_SIGNIN: 'true',
      COUNTERSIGN_POLICY: policy.path,
      COUNTERSIGN_SIGNIN_RATE_LIMIT: '100',
    },
  });
  key = (await t.createKey()).key;
});

afterAll(async () => {
  await t?.close();
  await policy?.remove();
});

describe('development sign-in configuration', () => {
  it('listens on loopback by default and refuses any other HOST', () => {
    expect(loadConfig({ COUNTERSIGN_DEV_SIGNIN: 'true' }).HOST).toBe('127.0.0.1');
    expect(loadConfig({ COUNTERSIGN_DEV_SIGNIN: 'true', HOST: '::1' }).HOST).toBe('::1');
    expect(() => loadConfig({ COUNTERSIGN_DEV_SIGNIN: 'true', HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ COUNTERSIGN_DEV_SIGNIN: 'true', HOST: '10.1.2.3' })).toThrow(/loopback/);
    expect(loadConfig({}).HOST).toBe('0.0.0.0');
  });

  it('refuses an http issuer that is not on loopback, and an issuer without a client id', () => {
    expect(() =>
      loadConfig({ COUNTERSIGN_OIDC_ISSUER: 'http://idp.example.com', COUNTERSIGN_OIDC_CLIENT_ID: 'c' }),
    ).toThrow(/COUNTERSIGN_OIDC_ISSUER/);
    expect(() => loadConfig({ COUNTERSIGN_OIDC_ISSUER: 'https://idp.example.com' })).toThrow(
      /COUNTERSIGN_OIDC_CLIENT_ID/,
    );
  });

  it('refuses to start OpenID sign-in without COUNTERSIGN_PUBLIC_URL (the redirect URI never comes from Host)', () => {
    const oidc = { COUNTERSIGN_OIDC_ISSUER: 'https://idp.example.com', COUNTERSIGN_OIDC_CLIENT_ID: 'c' };
    expect(() => loadConfig(oidc)).toThrow(/COUNTERSIGN_PUBLIC_URL: .*redirect URI/);
    expect(
      loadConfig({ ...oidc, COUNTERSIGN_PUBLIC_URL: 'https://countersign.example.com' })
        .COUNTERSIGN_PUBLIC_URL,
    ).toBe('https://countersign.example.com');
  });
});

describe('development sign-in', () => {
  it('shows the banner and the email form on the sign-in page', async () => {
    const page = await createCookieAgent().request('GET', `${t.url}/signin`);
    expect(page.text).toContain('Development sign-in: anyone can be anyone');
    expect(page.text).toContain('action="/auth/dev"');
    expect(page.text).not.toContain('href="/auth/login"');
  });

  it('refuses the sign-in form without its CSRF token', async () => {
    const agent = createCookieAgent();
    await agent.request('GET', `${t.url}/signin`);
    const refused = await agent.request('POST', `${t.url}/auth/dev`, { email: 'bob@example.com' });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('data-code="CSRF_TOKEN_INVALID"');
    expect((await agent.request('GET', `${t.url}/`)).location).toBe(`${t.url}/signin`);
  });

  it('signs in as the typed email with the banner on every page, audited as a dev sign-in', async () => {
    const agent = await devSignIn('Carol@Example.com');
    for (const path of ['/', '/requests']) {
      const page = await agent.request('GET', `${t.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Development sign-in: anyone can be anyone');
      expect(page.text).toContain('carol@example.com (development sign-in)');
    }
    const events = await withPgClient(
      t.database.url,
      async (client) =>
        (
          await client.query<{ actor: string; payload: unknown }>(
            "SELECT actor, payload FROM audit_events WHERE type = 'session.signed_in'",
          )
        ).rows,
    );
    expect(events.at(-1)).toMatchObject({
      actor: 'carol@example.com',
      payload: { method: 'dev', session: { devSignin: true } },
    });
  });

  it('marks a decision made this way in the decision, the audit trail and the report', async () => {
    const request = await createApproval(t, key, { title: 'Rotate the key' });
    const agent = await devSignIn('bob@example.com');
    const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
    const approved = await agent.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    expect(approved.status).toBe(303);
    const after = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(after.text).toContain('the request is approved');
    const { decision, event } = await withPgClient(t.database.url, async (client) => ({
      decision: (
        await client.query('SELECT platform, dev_signin FROM decisions WHERE request_id = $1', [request.id])
      ).rows[0] as unknown,
      event: (
        await client.query(
          "SELECT payload FROM audit_events WHERE request_id = $1 AND type = 'decision.recorded'",
          [request.id],
        )
      ).rows[0] as unknown,
    }));
    expect(decision).toEqual({ platform: 'web', dev_signin: true });
    expect(event).toMatchObject({
      payload: { approver: { platform: 'web', email: 'bob@example.com' }, session: { devSignin: true } },
    });
    const auditor = await devSignIn('audrey@example.com');
    const csv = await auditor.request('GET', `${t.url}/audit/report?format=csv&from=1d`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text).toMatch(/bob@example\.com approve \S+ \[development sign-in\]/);
  });

  it('shows on the request page how the requester was established', async () => {
    const bound = await createApiKey(t.server.db, {
      name: 'carol-deploys',
      requesters: ['carol@example.com'],
    });
    const fromBound = await createApproval(t, bound.key, { requester: { email: 'carol@example.com' } });
    const fromClaim = await createApproval(t, key, { requester: { email: 'carol@example.com' } });
    const agent = await devSignIn('bob@example.com');
    const boundPage = await agent.request('GET', `${t.url}/requests/${fromBound.id}`);
    expect(boundPage.text).toContain('<dt>Requester proof</dt><dd>bound to key carol-deploys</dd>');
    const claimedPage = await agent.request('GET', `${t.url}/requests/${fromClaim.id}`);
    expect(claimedPage.text).toContain('<dt>Requester proof</dt><dd>claimed by key test-client-1</dd>');
  });

  it('refuses the requester approving their own request, and says why on the page', async () => {
    const request = await createApproval(t, key, { requester: { email: 'carol@example.com' } });
    const agent = await devSignIn('carol@example.com');
    const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
    await agent.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    const after = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(after.text).toContain('Not recorded: you asked for this action, so you cannot decide it');
    expect(after.text).toContain('id="status">pending');
  });

  it('refuses a decision without the CSRF token, and nothing is recorded', async () => {
    const request = await createApproval(t, key);
    const agent = await devSignIn('bob@example.com');
    const refused = await agent.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
    });
    expect(refused.status).toBe(403);
    const count = await withPgClient(t.database.url, async (client) =>
      Number(
        (
          await client.query<{ count: string }>('SELECT count(*) FROM decisions WHERE request_id = $1', [
            request.id,
          ])
        ).rows[0]?.count,
      ),
    );
    expect(count).toBe(0);
  });

  it('refuses a form post without a session', async () => {
    const request = await createApproval(t, key);
    const stranger = createCookieAgent();
    const refused = await stranger.request('POST', `${t.url}/requests/${request.id}/deny`, { reason: 'no' });
    expect(refused.status).toBe(403);
  });
});

/** A form post with headers fetch will not send as given (Host), through node:http. */
function rawPost(
  agent: CookieAgent,
  path: string,
  form: Record<string, string>,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const target = new URL(`${t.url}${path}`);
  const body = new URLSearchParams(form).toString();
  const cookie = agent.cookie(target.hostname, 'countersign_session');
  return new Promise((resolve, reject) => {
    const req = http.request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(Buffer.byteLength(body)),
          ...(cookie ? { cookie: `countersign_session=${cookie}` } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('development sign-in reached through a proxy', () => {
  const cases: [string, Record<string, string>][] = [
    ['a public Host', { host: 'countersign.example.com' }],
    ['X-Forwarded-For', { 'x-forwarded-for': '203.0.113.9' }],
    ['X-Forwarded-Host', { 'x-forwarded-host': 'countersign.example.com' }],
    ['X-Forwarded-Proto', { 'x-forwarded-proto': 'https' }],
    ['Forwarded', { forwarded: 'for=203.0.113.9;proto=https' }],
    [
      'a public Host and X-Forwarded-For',
      { host: 'countersign.example.com', 'x-forwarded-for': '203.0.113.9' },
    ],
  ];
  it.each(cases)('refuses the sign-in with %s, and no session is made', async (_name, headers) => {
    const agent = createCookieAgent();
    const page = await agent.request('GET', `${t.url}/signin`);
    const refused = await rawPost(
      agent,
      '/auth/dev',
      { email: 'bob@example.com', _csrf: csrfTokenOf(page.text) },
      headers,
    );
    expect(refused.status, refused.text).toBe(403);
    expect(refused.text).toContain('data-code="DEV_SIGNIN_NOT_LOCAL"');
    expect((await agent.request('GET', `${t.url}/`)).location).toBe(`${t.url}/signin`);
  });

  it('still signs in with a loopback Host (localhost or [::1] style) and no forwarding headers', async () => {
    const agent = createCookieAgent();
    const page = await agent.request('GET', `${t.url}/signin`);
    const port = new URL(t.url).port;
    const done = await rawPost(
      agent,
      '/auth/dev',
      { email: 'bob@example.com', _csrf: csrfTokenOf(page.text) },
      { host: `localhost:${port}` },
    );
    expect(done.status, done.text).toBe(303);
  });
});

describe('deciding and listing', () => {
  it('requires a deny reason when the rule says so, then records the denial', async () => {
    const request = await createApproval(t, key, { action: 'db.drop', title: 'Drop the audit copy' });
    const agent = await devSignIn('carol@example.com');
    const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.text).toContain('required by rule deletions');
    const token = csrfTokenOf(page.text);
    await agent.request('POST', `${t.url}/requests/${request.id}/deny`, { reason: '  ', _csrf: token });
    const refused = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(refused.text).toContain('Not recorded: a reason is required to deny this request');
    expect(refused.text).toContain('id="status">pending');
    await agent.request('POST', `${t.url}/requests/${request.id}/deny`, {
      reason: 'still needed <b>for</b> the audit',
      _csrf: csrfTokenOf(refused.text),
    });
    const denied = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(denied.text).toContain('the request is denied');
    expect(denied.text).toContain('still needed &lt;b&gt;for&lt;/b&gt; the audit');
  });

  it('refuses a deny reason over 2,000 characters as typed, keeps what was typed, and records nothing', async () => {
    const request = await createApproval(t, key, { title: 'Export the ledger' });
    const agent = await devSignIn('carol@example.com');
    const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
    // What a browser sends for 1,990 characters and 20 line breaks: CRLF each, 2,030 in all.
    const tooLong = 'x'.repeat(1970) + '\r\ny'.repeat(20);
    const posted = await agent.request('POST', `${t.url}/requests/${request.id}/deny`, {
      reason: tooLong,
      _csrf: csrfTokenOf(page.text),
    });
    expect(posted.status).toBe(303);
    const refused = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(refused.text).toContain(
      'Not recorded: the reason is 2,010 characters long (line breaks count once); the limit is 2,000.',
    );
    expect(refused.text).toContain('id="status">pending');
    // The form comes back open with the reason as typed (a textarea holds LF line breaks).
    expect(refused.text).toMatch(/<details class="deny" open>/);
    expect(refused.text).toContain(`>${'x'.repeat(1970)}${'\ny'.repeat(20)}</textarea>`);
    const stored = await withPgClient(t.database.url, async (client) => ({
      decisions: (await client.query('SELECT reason FROM decisions WHERE request_id = $1', [request.id]))
        .rows,
    }));
    expect(stored.decisions).toEqual([]);

    // Exactly 2,000 as typed (2,020 sent) is recorded whole.
    const atLimit = 'x'.repeat(1960) + '\r\ny'.repeat(20);
    await agent.request('POST', `${t.url}/requests/${request.id}/deny`, {
      reason: atLimit,
      _csrf: csrfTokenOf(refused.text),
    });
    const reasons = await withPgClient(t.database.url, async (client) =>
      (
        await client.query<{ reason: string | null }>('SELECT reason FROM decisions WHERE request_id = $1', [
          request.id,
        ])
      ).rows.map((r) => r.reason),
    );
    expect(reasons).toEqual([atLimit]);
  });

  it('lists on Waiting on me only what the person may still decide', async () => {
    const open = await createApproval(t, key, { title: 'Waiting for reviewers' });
    const carol = await devSignIn('carol@example.com');
    expect((await carol.request('GET', `${t.url}/`)).text).toContain(`/requests/${open.id}`);
    const outsider = await devSignIn('erin@example.com');
    expect((await outsider.request('GET', `${t.url}/`)).text).not.toContain(`/requests/${open.id}`);
    const page = await carol.request('GET', `${t.url}/requests/${open.id}`);
    await carol.request('POST', `${t.url}/requests/${open.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    expect((await carol.request('GET', `${t.url}/`)).text).not.toContain(`/requests/${open.id}`);
  });

  it('filters the request list and pages through it with a cursor', async () => {
    const marker = `list.check.${Date.now()}`;
    const created = [];
    for (let i = 0; i < 27; i++) created.push(await createApproval(t, key, { action: marker }));
    const agent = await devSignIn('bob@example.com');
    const first = await agent.request('GET', `${t.url}/requests?action=${marker}&status=pending`);
    expect(first.status).toBe(200);
    const ids = (html: string) => [...html.matchAll(/href="\/requests\/([0-9a-f-]{36})"/g)].map((m) => m[1]);
    expect(ids(first.text)).toHaveLength(25);
    const next = /href="(\/requests\?[^"]*cursor=[^"]+)"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toBeDefined();
    const second = await agent.request('GET', `${t.url}${next ?? ''}`);
    expect(ids(second.text)).toHaveLength(2);
    expect(new Set([...ids(first.text), ...ids(second.text)])).toEqual(new Set(created.map((r) => r.id)));
    const none = await agent.request('GET', `${t.url}/requests?action=${marker}&status=approved`);
    expect(ids(none.text)).toHaveLength(0);
    const byRule = await agent.request('GET', `${t.url}/requests?action=list.check.*&rule=deletions`);
    expect(ids(byRule.text)).toHaveLength(0);
    const bad = await agent.request('GET', `${t.url}/requests?status=maybe`);
    expect(bad.status).toBe(422);
  });
});

describe('who sees a request in the console', () => {
  it('shows a request to its requester, its approvers and auditors, and to no one else', async () => {
    const request = await createApproval(t, key, {
      title: 'Visible to the involved only',
      requester: { email: 'alice@example.com' },
    });
    const listed = (html: string) => html.includes(`/requests/${request.id}`);
    for (const email of ['alice@example.com', 'bob@example.com', 'audrey@example.com']) {
      const agent = await devSignIn(email);
      const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
      expect(page.status, email).toBe(200);
      expect(listed((await agent.request('GET', `${t.url}/requests?status=pending`)).text), email).toBe(true);
    }
    const outsider = await devSignIn('erin@example.com');
    const page = await outsider.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(404);
    expect(page.text).toContain('data-code="NOT_FOUND"');
    expect(page.text).not.toContain('Visible to the involved only');
    expect(listed((await outsider.request('GET', `${t.url}/requests?status=pending`)).text)).toBe(false);
  });

  it("shows a key's requests to the key's admins (list and page), who still may not decide, and to no other key's admins", async () => {
    const keyA = await createApiKey(t.server.db, { name: 'team-a', admins: [' Dana@Example.com'] });
    const keyB = await createApiKey(t.server.db, { name: 'team-b', admins: ['frank@example.com'] });
    expect(keyA.admins).toEqual(['dana@example.com']);
    const fromA = await createApproval(t, keyA.key, {
      title: 'Asked by team A',
      requester: { email: 'alice@example.com' },
    });
    const fromB = await createApproval(t, keyB.key, {
      title: 'Asked by team B',
      requester: { email: 'alice@example.com' },
    });
    const listed = (html: string, id: string) => html.includes(`/requests/${id}`);

    const dana = await devSignIn('dana@example.com');
    const page = await dana.request('GET', `${t.url}/requests/${fromA.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Asked by team A');
    const list = (await dana.request('GET', `${t.url}/requests?status=pending`)).text;
    expect(listed(list, fromA.id)).toBe(true);
    expect(listed(list, fromB.id)).toBe(false);
    const other = await dana.request('GET', `${t.url}/requests/${fromB.id}`);
    expect(other.status).toBe(404);
    expect(other.text).toContain('data-code="NOT_FOUND"');
    expect(other.text).not.toContain('Asked by team B');
    // Seeing is not deciding: the core refuses her approval and nothing is recorded.
    await dana.request('POST', `${t.url}/requests/${fromA.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    const decisions = await withPgClient(
      t.database.url,
      async (client) =>
        (await client.query('SELECT 1 FROM decisions WHERE request_id = $1', [fromA.id])).rowCount,
    );
    expect(decisions).toBe(0);
    expect((await dana.request('GET', `${t.url}/`)).text).not.toContain(`/requests/${fromA.id}`);

    const frank = await devSignIn('frank@example.com');
    expect((await frank.request('GET', `${t.url}/requests/${fromA.id}`)).status).toBe(404);
    expect(listed((await frank.request('GET', `${t.url}/requests?status=pending`)).text, fromA.id)).toBe(
      false,
    );
    expect((await frank.request('GET', `${t.url}/requests/${fromB.id}`)).status).toBe(200);

    // Removed from the admins, she no longer sees it.
    await changeKeyAdmins(t.server.db, { keyId: keyA.id, change: { remove: ['dana@example.com'] } });
    expect((await dana.request('GET', `${t.url}/requests/${fromA.id}`)).status).toBe(404);
    expect(listed((await dana.request('GET', `${t.url}/requests?status=pending`)).text, fromA.id)).toBe(
      false,
    );
  });

  it('shows every request to every signed-in user when the policy sets console.requests: everyone', async () => {
    const open = await writeTempPolicy(`${POLICY}console:\n  requests: everyone\n`);
    const server = await startTestServer({
      env: {
        COUNTERSIGN_DEV_SIGNIN: 'true',
        COUNTERSIGN_POLICY: open.path,
        COUNTERSIGN_SIGNIN_RATE_LIMIT: '100',
      },
    });
    try {
      const request = await createApproval(server, (await server.createKey()).key);
      const outsider = await devSignIn('erin@example.com', server);
      expect((await outsider.request('GET', `${server.url}/requests/${request.id}`)).status).toBe(200);
    } finally {
      await server.close();
      await open.remove();
    }
  });
});

describe('console pages', () => {
  it('sends a strict Content-Security-Policy and no framing on console pages, and leaves the API alone', async () => {
    const page = await createCookieAgent().request('GET', `${t.url}/signin`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|script-src/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const api = await fetch(`${t.url}/healthz`);
    expect(api.headers.get('content-security-policy')).toBeNull();
    expect(api.headers.get('set-cookie')).toBeNull();
    const missing = await fetch(`${t.url}/v1/nothing-here`);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });

  it('lets only the auditors group open Audit', async () => {
    const reviewer = await devSignIn('bob@example.com');
    const refused = await reviewer.request('GET', `${t.url}/audit`);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('data-code="NOT_AUDITOR"');
    expect((await reviewer.request('GET', `${t.url}/audit/report?format=csv`)).status).toBe(403);
    const auditor = await devSignIn('audrey@example.com');
    const page = await auditor.request('GET', `${t.url}/audit`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Audit chain intact');
    expect(page.text).toMatch(/<svg class="chart"/);
  });

  it('shows a 404 page for an unknown request id', async () => {
    const agent = await devSignIn('bob@example.com');
    const page = await agent.request('GET', `${t.url}/requests/7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10`);
    expect(page.status).toBe(404);
    expect(page.text).toContain('data-code="NOT_FOUND"');
  });
});

describe('servers configured otherwise', () => {
  it('shows how to configure sign-in when there is none', async () => {
    const bare = await startTestServer();
    try {
      for (const path of ['/', '/signin']) {
        const page = await createCookieAgent().request('GET', `${bare.url}${path}`);
        expect(page.status).toBe(200);
        expect(page.text).toContain('Sign-in is not configured');
        expect(page.text).toContain('COUNTERSIGN_OIDC_ISSUER');
      }
      const dev = await createCookieAgent().request('POST', `${bare.url}/auth/dev`, {
        email: 'x@example.com',
      });
      expect(dev.status).toBe(403);
    } finally {
      await bare.close();
    }
  });

  it('rate-limits sign-in attempts per address', async () => {
    const limited = await startTestServer({
      env: { COUNTERSIGN_DEV_SIGNIN: 'true', COUNTERSIGN_SIGNIN_RATE_LIMIT: '3' },
    });
    try {
      const agent = createCookieAgent();
      const page = await agent.request('GET', `${limited.url}/signin`);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const attempt = await agent.request('POST', `${limited.url}/auth/dev`, {
          email: `user${i}@example.com`,
          _csrf: i === 0 ? csrfTokenOf(page.text) : 'stale',
        });
        statuses.push(attempt.status);
        if (i === 3) expect(attempt.headers.get('retry-after')).toBe('60');
      }
      expect(statuses).toEqual([303, 403, 403, 429]);
    } finally {
      await limited.close();
    }
  });

  it('marks the session cookie Secure when the public URL is https (behind a TLS proxy)', async () => {
    const behindProxy = await startTestServer({
      env: { COUNTERSIGN_DEV_SIGNIN: 'true', COUNTERSIGN_PUBLIC_URL: 'https://countersign.example.com' },
    });
    try {
      const page = await fetch(`${behindProxy.url}/signin`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(page.headers.get('set-cookie')).toMatch(/countersign_session=.*; Secure/i);
    } finally {
      await behindProxy.close();
    }
  });
});

describe('a request that binds a command', () => {
  it('shows the command line on its console page', async () => {
    const exec = { argv: ['terraform', 'destroy', '-auto-approve'], cwd: '/srv/infra', env: ['AWS_PROFILE'] };
    const request = await createApproval(t, key, { action: 'infra.destroy', context: { exec } });
    const agent = await devSignIn('bob@example.com');
    const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.text).toContain('Command (runs only as approved)');
    expect(page.text).toContain(
      '<pre class="command">in /srv/infra: terraform destroy -auto-approve (env: AWS_PROFILE)</pre>',
    );
    const plain = await createApproval(t, key, { action: 'infra.plan', context: { cmd: 'terraform plan' } });
    expect((await agent.request('GET', `${t.url}/requests/${plain.id}`)).text).not.toContain('Command (runs');
  });
});
