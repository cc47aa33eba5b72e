// The console's break-glass review form over HTTP with signed-in sessions: a reviewer acknowledges
// or flags a use once (audited, shown on the page), the requester and non-reviewers cannot, a
// form without its CSRF token or with no outcome changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { csrfTokenOf, devSignIn } from '../support/cookie-agent.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - name: prod-fix
    actions: ["prod.*"]
    approvers: [bob@example.com]
    breakGlass: { allowed: true, reviewWithin: 4h, reviewers: [dave@example.com, erin@example.com] }
  - { name: everything, actions: ["*"], approvers: [bob@example.com] }
`;

let t: TestServer;
let key: string;

beforeAll(async () => {
  t = await startTestServer({ policyYaml: POLICY, env: { COUNTERSIGN_DEV_SIGNIN: 'true' } });
  key = (await t.createKey()).key;
});
afterAll(async () => {
  await t?.close();
});

const breakGlass = (): Promise<Approval> =>
  createApproval(t, key, { action: 'prod.restart', breakGlass: 'prod down, INC-123' });

async function reviewState(requestId: string) {
  return t.server.db.prisma.breakGlassReview.findUniqueOrThrow({ where: { requestId } });
}

async function reviewEvents(requestId: string): Promise<{ actor: string; payload: unknown }[]> {
  return withPgClient(t.database.url, async (c) => {
    const { rows } = await c.query<{ actor: string; payload: unknown }>(
      `SELECT actor, payload FROM audit_events WHERE request_id = $1 AND type = 'breakglass.reviewed' ORDER BY seq`,
      [requestId],
    );
    return rows;
  });
}

describe('console break-glass review', () => {
  it('lets a reviewer acknowledge once, with a note; the page and the audit trail say so', async () => {
    const request = await breakGlass();
    const dave = await devSignIn(t.url, 'dave@example.com');
    const page = await dave.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('BREAK-GLASS: approved at once by the requester');
    expect(page.text).toContain('id="break-glass-review">pending');
    expect(page.text).toContain(`action="/requests/${request.id}/break-glass-review"`);
    const posted = await dave.request('POST', `${t.url}/requests/${request.id}/break-glass-review`, {
      outcome: 'acknowledged',
      note: 'restart was the right call',
      _csrf: csrfTokenOf(page.text),
    });
    expect(posted.status).toBe(303);
    const after = await dave.request('GET', `${t.url}/requests/${request.id}`);
    expect(after.text).toContain('You acknowledged this break-glass use.');
    expect(after.text).toContain('id="break-glass-review">acknowledged</strong> by dave@example.com');
    expect(after.text).toContain('restart was the right call');
    expect(after.text).not.toContain('/break-glass-review"');
    expect(await reviewState(request.id)).toMatchObject({
      outcome: 'acknowledged',
      reviewedBy: 'dave@example.com',
      note: 'restart was the right call',
    });
    expect(await reviewEvents(request.id)).toEqual([
      {
        actor: 'dave@example.com',
        payload: {
          outcome: 'acknowledged',
          reviewer: 'dave@example.com',
          note: 'restart was the right call',
        },
      },
    ]);

    // A second reviewer is told it is done; nothing changes.
    const erin = await devSignIn(t.url, 'erin@example.com');
    const erinPage = await erin.request('GET', `${t.url}/requests/${request.id}`);
    await erin.request('POST', `${t.url}/requests/${request.id}/break-glass-review`, {
      outcome: 'flagged',
      _csrf: csrfTokenOf(erinPage.text),
    });
    const told = await erin.request('GET', `${t.url}/requests/${request.id}`);
    expect(told.text).toContain(
      'Not recorded: this break-glass use was already acknowledged by dave@example.com.',
    );
    expect((await reviewState(request.id)).outcome).toBe('acknowledged');
    expect(await reviewEvents(request.id)).toHaveLength(1);
  });

  it('lets a reviewer flag a use', async () => {
    const request = await breakGlass();
    const erin = await devSignIn(t.url, 'erin@example.com');
    const page = await erin.request('GET', `${t.url}/requests/${request.id}`);
    await erin.request('POST', `${t.url}/requests/${request.id}/break-glass-review`, {
      outcome: 'flagged',
      note: 'no incident was open',
      _csrf: csrfTokenOf(page.text),
    });
    expect(await reviewState(request.id)).toMatchObject({
      outcome: 'flagged',
      reviewedBy: 'erin@example.com',
    });
    const after = await erin.request('GET', `${t.url}/requests/${request.id}`);
    expect(after.text).toContain('id="break-glass-review">flagged</strong> by erin@example.com');
  });

  it('refuses the requester, hides the use from others, and changes nothing without CSRF or an outcome', async () => {
    const request = await breakGlass();
    const alice = await devSignIn(t.url, 'alice@example.com');
    const alicePage = await alice.request('GET', `${t.url}/requests/${request.id}`);
    expect(alicePage.status).toBe(200);
    expect(alicePage.text).not.toContain('/break-glass-review"');
    await alice.request('POST', `${t.url}/requests/${request.id}/break-glass-review`, {
      outcome: 'acknowledged',
      _csrf: csrfTokenOf(alicePage.text),
    });
    const aliceAfter = await alice.request('GET', `${t.url}/requests/${request.id}`);
    expect(aliceAfter.text).toContain('used break-glass on this request and cannot review it');

    const frank = await devSignIn(t.url, 'frank@example.com');
    expect((await frank.request('GET', `${t.url}/requests/${request.id}`)).status).toBe(404);
    const frankHome = await frank.request('GET', `${t.url}/requests`);
    await frank.request('POST', `${t.url}/requests/${request.id}/break-glass-review`, {
      outcome: 'flagged',
      _csrf: csrfTokenOf(frankHome.text),
    });

    const dave = await devSignIn(t.url, 'dave@example.com');
    const noCsrf = await dave.request('POST', `${t.url}/requests/${request.id}/break-glass-review`, {
      outcome: 'acknowledged',
    });
    expect(noCsrf.status).toBe(403);
    const davePage = await dave.request('GET', `${t.url}/requests/${request.id}`);
    await dave.request('POST', `${t.url}/requests/${request.id}/break-glass-review`, {
      outcome: 'approve',
      _csrf: csrfTokenOf(davePage.text),
    });
    const daveAfter = await dave.request('GET', `${t.url}/requests/${request.id}`);
    expect(daveAfter.text).toContain('Not recorded: choose acknowledge or flag.');

    expect(await reviewState(request.id)).toMatchObject({ outcome: null, reviewedBy: null });
    expect(await reviewEvents(request.id)).toEqual([]);
  });
});
