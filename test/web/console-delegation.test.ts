// The console's My delegation page over HTTP with signed-in sessions: an approver names a colleague
// until a date (audited with them as actor), the colleague then decides "for" them, the core's
// refusals come back as a precise 4xx page that keeps what was typed and stores nothing, and only
// the delegator ends their delegation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { csrfTokenOf, devSignIn, type CookieAgent } from '../support/cookie-agent.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - { name: exports, actions: ["db.*"], approvers: [alice@example.com, bob@example.com] }
  - { name: everything, actions: ["*"], approvers: [bob@example.com] }
`;
const DAY = 86_400_000;
const dateIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

let t: TestServer;
let key: string;

beforeAll(async () => {
  t = await startTestServer({ policyYaml: POLICY, env: { COUNTERSIGN_DEV_SIGNIN: 'true' } });
  key = (await t.createKey()).key;
});
afterAll(async () => {
  await t?.close();
});

async function stored(): Promise<{ delegations: number; events: number }> {
  return withPgClient(t.database.url, async (c) => {
    const { rows } = await c.query<{ delegations: number; events: number }>(
      `SELECT (SELECT count(*) FROM delegations)::int AS delegations,
              (SELECT count(*) FROM audit_events)::int AS events`,
    );
    return rows[0] ?? { delegations: -1, events: -1 };
  });
}

async function delegationEvents(from: string): Promise<{ type: string; actor: string }[]> {
  return withPgClient(t.database.url, async (c) => {
    const { rows } = await c.query<{ type: string; actor: string }>(
      `SELECT type, actor FROM audit_events WHERE type LIKE 'delegation.%' AND payload->>'from' = $1 ORDER BY seq`,
      [from],
    );
    return rows;
  });
}

async function delegate(agent: CookieAgent, form: Record<string, string>) {
  const page = await agent.request('GET', `${t.url}/delegation`);
  return agent.request('POST', `${t.url}/delegation`, { ...form, _csrf: csrfTokenOf(page.text) });
}

describe('console My delegation', () => {
  it('adds a delegate until a date; they decide for the delegator; the delegator ends it', async () => {
    const bob = await devSignIn(t.url, 'bob@example.com');
    const empty = await bob.request('GET', `${t.url}/delegation`);
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('<a href="/delegation" aria-current="page">My delegation</a>');
    expect(empty.text).toContain('id="no-delegation"');

    const until = dateIn(10);
    const added = await delegate(bob, { to: 'Carol@Example.com', until, reason: 'on leave <b>' });
    expect(added.status).toBe(303);
    const page = await bob.request('GET', `${t.url}/delegation`);
    expect(page.text).toContain(`carol@example.com now decides in your place through ${until} (UTC).`);
    expect(page.text).toContain('<td>carol@example.com</td>');
    expect(page.text).toContain('on leave &lt;b&gt;');
    const row = await t.server.db.prisma.delegation.findFirstOrThrow({
      where: { fromEmail: 'bob@example.com' },
    });
    expect(row).toMatchObject({
      toEmail: 'carol@example.com',
      createdBy: 'bob@example.com',
      until: new Date(Date.parse(`${until}T00:00:00Z`) + DAY),
      reason: 'on leave <b>',
    });
    expect(await delegationEvents('bob@example.com')).toEqual([
      { type: 'delegation.created', actor: 'bob@example.com' },
    ]);

    const carol = await devSignIn(t.url, 'carol@example.com');
    const carolPage = await carol.request('GET', `${t.url}/delegation`);
    expect(carolPage.text).toMatch(/<ul id="delegated-to-me">\s*<li>bob@example\.com until/);
    const request = await createApproval(t, key, { action: 'deploy.prod' });
    const requestPage = await carol.request('GET', `${t.url}/requests/${request.id}`);
    expect(requestPage.status).toBe(200);
    expect(requestPage.text).toContain(`action="/requests/${request.id}/approve"`);
    expect(requestPage.text).not.toContain('You cannot decide this request');
    const approved = await carol.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(requestPage.text),
    });
    expect(approved.status).toBe(303);
    const decision = await t.server.db.prisma.decision.findFirstOrThrow({ where: { requestId: request.id } });
    expect(decision).toMatchObject({ approverEmail: 'carol@example.com', onBehalfOf: 'bob@example.com' });

    // Only bob ends bob's delegation: to anyone else the id does not exist.
    const erin = await devSignIn(t.url, 'erin@example.com');
    const erinPage = await erin.request('GET', `${t.url}/delegation`);
    const refused = await erin.request('POST', `${t.url}/delegation/remove`, {
      id: row.id,
      _csrf: csrfTokenOf(erinPage.text),
    });
    expect(refused.status).toBe(404);
    const removed = await bob.request('POST', `${t.url}/delegation/remove`, {
      id: row.id,
      _csrf: csrfTokenOf(page.text),
    });
    expect(removed.status).toBe(303);
    const after = await bob.request('GET', `${t.url}/delegation`);
    expect(after.text).toContain('carol@example.com no longer decides in your place.');
    expect(after.text).toContain('id="no-delegation"');
    expect(await delegationEvents('bob@example.com')).toEqual([
      { type: 'delegation.created', actor: 'bob@example.com' },
      { type: 'delegation.used', actor: 'carol@example.com' },
      { type: 'delegation.removed', actor: 'bob@example.com' },
    ]);
  });

  it('refuses bad input with a precise 4xx page that keeps what was typed, storing nothing', async () => {
    const dave = await devSignIn(t.url, 'dave@example.com');
    expect((await delegate(dave, { to: 'frank@example.com', until: dateIn(5) })).status).toBe(303);
    const frank = await devSignIn(t.url, 'frank@example.com');
    const before = await stored();

    const self = await delegate(dave, { to: 'DAVE@example.com', until: dateIn(3), reason: 'kept reason' });
    expect(self.status).toBe(422);
    expect(self.text).toContain('Not saved: dave@example.com cannot delegate to themselves.');
    expect(self.text).toContain('value="DAVE@example.com"');
    expect(self.text).toContain('>kept reason</textarea>');

    const past = await delegate(dave, { to: 'gina@example.com', until: '2020-01-01' });
    expect(past.status).toBe(422);
    expect(past.text).toContain('is not in the future');
    expect(past.text).toContain('value="2020-01-01"');
    expect(past.text).toContain('value="gina@example.com"');

    const far = await delegate(dave, { to: 'gina@example.com', until: dateIn(400) });
    expect(far.status).toBe(422);
    expect(far.text).toContain('is more than 366 days away');

    const notEmail = await delegate(dave, { to: 'gina', until: dateIn(3) });
    expect(notEmail.status).toBe(422);
    expect(notEmail.text).toContain('&quot;gina&quot; is not an email address');

    const notDate = await delegate(dave, { to: 'gina@example.com', until: 'next week' });
    expect(notDate.status).toBe(422);
    expect(notDate.text).toContain('&quot;next week&quot; is not a date');

    const loop = await delegate(frank, { to: 'dave@example.com', until: dateIn(3) });
    expect(loop.status).toBe(422);
    expect(loop.text).toContain('would close a loop');

    const long = await delegate(dave, { to: 'gina@example.com', until: dateIn(3), reason: 'x'.repeat(2001) });
    expect(long.status).toBe(422);

    const noCsrf = await dave.request('POST', `${t.url}/delegation`, {
      to: 'gina@example.com',
      until: dateIn(3),
    });
    expect(noCsrf.status).toBe(403);

    expect(await stored()).toEqual(before);
  });

  it("refuses a delegate's decision when the delegation comes from the request's requester", async () => {
    const alice = await devSignIn(t.url, 'alice@example.com');
    expect((await delegate(alice, { to: 'hal@example.com', until: dateIn(3) })).status).toBe(303);
    const request = await createApproval(t, key, { action: 'db.export' });
    const hal = await devSignIn(t.url, 'hal@example.com');
    const page = await hal.request('GET', `${t.url}/requests/${request.id}`);
    await hal.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    const after = await hal.request('GET', `${t.url}/requests/${request.id}`);
    expect(after.text).toContain('your delegation comes from the requester');
    expect(await t.server.db.prisma.decision.count({ where: { requestId: request.id } })).toBe(0);
  });
});
