// Console sign-in against a real OpenID provider (oidc-provider on loopback): the code + PKCE round
// trip, a provider that has not verified the email, state and PKCE mismatches, sign-out, and the
// idle and absolute session timeouts (the server's clock is moved, the provider's is real).
import http from 'node:http';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { freePort } from '../support/cli.ts';
import { createCookieAgent, csrfTokenOf, type CookieAgent } from '../support/cookie-agent.ts';
import { SettableClock } from '../support/settable-clock.ts';
import { startTestIdp, type TestIdp } from '../support/test-idp.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const IDLE_S = 1800;
const MAX_S = 3 * 3600;

let idp: TestIdp;
let t: TestServer;
const clock = new SettableClock();

interface AuditRow {
  type: string;
  actor: string;
  payload: Record<string, unknown>;
}

const auditOf = (type: string) =>
  withPgClient(t.database.url, async (client: pg.Client) => {
    const { rows } = await client.query<AuditRow>(
      'SELECT type, actor, payload FROM audit_events WHERE type = $1 ORDER BY seq',
      [type],
    );
    return rows;
  });

const isCallback = (location: string) => location.startsWith(`${t.url}/auth/callback`);

/** Runs the browser's part of a sign-in up to the provider's redirect back to the console. */
async function callbackUrlFor(agent: CookieAgent, account: string): Promise<string> {
  idp.signInAs(account);
  const atProvider = await agent.follow(`${t.url}/auth/login`, isCallback);
  expect(atProvider.location, atProvider.text).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth\/callback\?/);
  return atProvider.location as string;
}

async function signIn(account: string): Promise<CookieAgent> {
  const agent = createCookieAgent();
  const callback = await callbackUrlFor(agent, account);
  const back = await agent.request('GET', callback);
  expect(back.status, back.text).toBe(303);
  expect(back.location).toBe(`${t.url}/`);
  return agent;
}

beforeAll(async () => {
  idp = await startTestIdp({
    bob: { email: 'Bob@Example.com', emailVerified: true, name: 'Bob Builder' },
    mallory: { email: 'ceo@example.com', emailVerified: false },
    nomail: { name: 'No Mail' },
  });
  // The redirect URI comes only from COUNTERSIGN_PUBLIC_URL, so the port is chosen before start.
  const port = await freePort();
  t = await startTestServer({
    clock,
    env: {
      ...idp.env,
      PORT: String(port),
      COUNTERSIGN_PUBLIC_URL: `http://127.0.0.1:${port}`,
      COUNTERSIGN_SESSION_IDLE_S: String(IDLE_S),
      COUNTERSIGN_SESSION_MAX_S: String(MAX_S),
      // Every test signs in; the limit itself is tested in dev-sign-in.test.ts.
      COUNTERSIGN_SIGNIN_RATE_LIMIT: '200',
    },
  });
  idp.configure(`${t.url}/auth/callback`);
});

afterAll(async () => {
  await t?.close();
  await idp?.close();
});

describe('OpenID Connect sign-in', () => {
  it('sends a visitor without a session to the sign-in page, which offers the company sign-in', async () => {
    const agent = createCookieAgent();
    const home = await agent.request('GET', `${t.url}/`);
    expect(home.status).toBe(303);
    expect(home.location).toBe(`${t.url}/signin`);
    const page = await agent.request('GET', `${t.url}/signin`);
    expect(page.text).toContain('href="/auth/login"');
    expect(page.text).not.toContain('action="/auth/dev"');
  });

  it('uses the authorization code flow with PKCE (S256) and a state', async () => {
    const agent = createCookieAgent();
    const start = await agent.request('GET', `${t.url}/auth/login`);
    expect(start.status).toBe(303);
    const authorize = new URL(start.location ?? '');
    expect(authorize.origin).toBe(idp.issuer);
    expect(authorize.searchParams.get('response_type')).toBe('code');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${t.url}/auth/callback`);
    expect(authorize.searchParams.get('scope')).toContain('email');
  });

  it('builds the redirect URI from COUNTERSIGN_PUBLIC_URL, whatever Host or X-Forwarded-Host say', async () => {
    const location = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${t.url}/auth/login`, {
        headers: { host: 'evil.example.com', 'x-forwarded-host': 'evil.example.com' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.headers.location ?? '');
      });
      req.on('error', reject);
      req.end();
    });
    expect(new URL(location).searchParams.get('redirect_uri')).toBe(`${t.url}/auth/callback`);
  });

  it('signs in with the verified email, lower-cased, and audits session.signed_in', async () => {
    const agent = await signIn('bob');
    const home = await agent.request('GET', `${t.url}/`);
    expect(home.status).toBe(200);
    expect(home.text).toContain('Waiting on me');
    expect(home.text).toContain('bob@example.com');
    expect(home.text).not.toContain('Development sign-in');
    const [event] = (await auditOf('session.signed_in')).slice(-1);
    expect(event).toMatchObject({
      actor: 'bob@example.com',
      payload: { method: 'oidc', issuer: idp.issuer, subject: 'bob', session: { devSignin: false } },
    });
  });

  it('sets the session cookie HttpOnly and SameSite=Lax, and not Secure over plain http', async () => {
    const agent = await signIn('bob');
    const header = agent.setCookieHeaders.filter((h) => h.startsWith('countersign_session=')).at(-1) ?? '';
    expect(header).toMatch(/HttpOnly/i);
    expect(header).toMatch(/SameSite=Lax/i);
    expect(header).not.toMatch(/Secure/i);
  });

  it('refuses an account whose email is not verified, audits it, and leaves no session', async () => {
    const agent = createCookieAgent();
    const before = (await auditOf('session.refused')).length;
    const back = await agent.request('GET', await callbackUrlFor(agent, 'mallory'));
    expect(back.status).toBe(403);
    expect(back.text).toContain('data-code="IDENTITY_UNRESOLVED"');
    const refused = await auditOf('session.refused');
    expect(refused).toHaveLength(before + 1);
    expect(refused.at(-1)).toMatchObject({
      actor: 'oidc:mallory',
      payload: { reason: 'identity_unresolved', detail: 'email_not_verified', email: 'ceo@example.com' },
    });
    const home = await agent.request('GET', `${t.url}/`);
    expect(home.location).toBe(`${t.url}/signin`);
  });

  it('refuses an account without an email', async () => {
    const agent = createCookieAgent();
    const back = await agent.request('GET', await callbackUrlFor(agent, 'nomail'));
    expect(back.status).toBe(403);
    expect((await auditOf('session.refused')).at(-1)).toMatchObject({ payload: { detail: 'email_missing' } });
  });

  it('refuses a callback whose state does not match, and the flow cannot be retried after', async () => {
    const agent = createCookieAgent();
    const callback = new URL(await callbackUrlFor(agent, 'bob'));
    const genuine = callback.href;
    callback.searchParams.set('state', 'forged-state');
    const forged = await agent.request('GET', callback.href);
    expect(forged.status).toBe(401);
    expect(forged.text).toContain('data-code="SIGN_IN_FAILED"');
    // The flow was used up by the failed attempt: the genuine answer no longer signs in either.
    const replay = await agent.request('GET', genuine);
    expect(replay.status).toBe(401);
    expect((await agent.request('GET', `${t.url}/`)).location).toBe(`${t.url}/signin`);
  });

  it("refuses another browser's authorization code (PKCE verifier mismatch)", async () => {
    const victim = createCookieAgent();
    const attacker = createCookieAgent();
    const attackerStart = await attacker.request('GET', `${t.url}/auth/login`);
    const attackerState = new URL(attackerStart.location ?? '').searchParams.get('state') ?? '';
    const victimCallback = new URL(await callbackUrlFor(victim, 'bob'));
    // The attacker's own state, but a code issued for the victim's PKCE challenge.
    victimCallback.searchParams.set('state', attackerState);
    const result = await attacker.request('GET', victimCallback.href);
    expect(result.status).toBe(401);
    expect(result.text).toContain('data-code="SIGN_IN_FAILED"');
    expect((await attacker.request('GET', `${t.url}/`)).location).toBe(`${t.url}/signin`);
  });

  it('refuses a sign-in left at the provider for more than ten minutes', async () => {
    const agent = createCookieAgent();
    const callback = await callbackUrlFor(agent, 'bob');
    clock.advance(11 * 60_000);
    const late = await agent.request('GET', callback);
    expect(late.status).toBe(401);
    expect(late.text).toContain('data-code="SIGN_IN_FAILED"');
  });

  it('refuses a callback without a sign-in started in this browser', async () => {
    const agent = createCookieAgent();
    const stranger = createCookieAgent();
    const callback = await callbackUrlFor(agent, 'bob');
    const result = await stranger.request('GET', callback);
    expect(result.status).toBe(401);
  });
});

describe('console sessions', () => {
  it('signs out (audited), and the old cookie no longer works', async () => {
    const agent = await signIn('bob');
    const cookie = agent.cookie('127.0.0.1', 'countersign_session') ?? '';
    const home = await agent.request('GET', `${t.url}/`);
    const out = await agent.request('POST', `${t.url}/auth/signout`, { _csrf: csrfTokenOf(home.text) });
    expect(out.status).toBe(303);
    expect(out.location).toBe(`${t.url}/signin`);
    expect((await auditOf('session.signed_out')).at(-1)).toMatchObject({ actor: 'bob@example.com' });
    const replayed = createCookieAgent();
    replayed.setCookie('127.0.0.1', 'countersign_session', cookie);
    expect((await replayed.request('GET', `${t.url}/`)).location).toBe(`${t.url}/signin`);
  });

  it('refuses sign-out without the CSRF token', async () => {
    const agent = await signIn('bob');
    const out = await agent.request('POST', `${t.url}/auth/signout`, {});
    expect(out.status).toBe(403);
    expect((await agent.request('GET', `${t.url}/`)).status).toBe(200);
  });

  it('ends a session after the idle timeout', async () => {
    const agent = await signIn('bob');
    clock.advance((IDLE_S - 60) * 1000);
    expect((await agent.request('GET', `${t.url}/`)).status).toBe(200);
    clock.advance((IDLE_S + 1) * 1000);
    const expired = await agent.request('GET', `${t.url}/`);
    expect(expired.status).toBe(303);
    expect(expired.location).toBe(`${t.url}/signin`);
  });

  it('ends an active session at the absolute timeout', async () => {
    const agent = await signIn('bob');
    // Active every 20 minutes (inside the idle timeout) for just under the absolute lifetime.
    let elapsed = 0;
    while (elapsed + 1200 < MAX_S) {
      clock.advance(1200 * 1000);
      elapsed += 1200;
      expect((await agent.request('GET', `${t.url}/`)).status).toBe(200);
    }
    // Still well inside the idle timeout, but one second past the absolute lifetime.
    clock.advance((MAX_S - elapsed + 1) * 1000);
    const expired = await agent.request('GET', `${t.url}/`);
    expect(expired.status).toBe(303);
    expect(expired.location).toBe(`${t.url}/signin`);
  });
});
