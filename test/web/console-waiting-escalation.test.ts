// "Waiting on me" in the console shows what a click could count for beyond the named approvers:
// an escalation's approvers once the escalation happened (and not before), and a delegate where
// their delegator may decide, but never a delegate whose delegation comes from the requester.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { csrfTokenOf, devSignIn } from '../support/cookie-agent.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - name: escalated
    actions: ["iam.*"]
    approvers: [bob@example.com]
    escalate: { after: 5s, approvers: [erin@example.com] }
  - { name: exports, actions: ["db.*"], approvers: [alice@example.com, bob@example.com] }
  - { name: everything, actions: ["*"], approvers: [bob@example.com] }
`;
const dateIn = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

let t: TestServer;
let key: string;

beforeAll(async () => {
  t = await startTestServer({ policyYaml: POLICY, env: { COUNTERSIGN_DEV_SIGNIN: 'true' } });
  key = (await t.createKey()).key;
});
afterAll(async () => {
  await t?.close();
});

async function waitingIds(email: string): Promise<string[]> {
  const agent = await devSignIn(t.url, email);
  const page = await agent.request('GET', `${t.url}/`);
  expect(page.status).toBe(200);
  return [...page.text.matchAll(/href="\/requests\/([0-9a-f-]{36})"/g)].map((m) => m[1] ?? '');
}

async function escalated(requestId: string): Promise<boolean> {
  return withPgClient(t.database.url, async (c) => {
    const { rows } = await c.query(
      `SELECT 1 FROM audit_events WHERE request_id = $1 AND type = 'request.escalated'`,
      [requestId],
    );
    return rows.length > 0;
  });
}

describe('console Waiting on me', { timeout: 60_000 }, () => {
  it("lists a request for the escalation's approvers once it escalated, and their click counts", async () => {
    const request = await createApproval(t, key, { action: 'iam.grant' });
    const before = await waitingIds('erin@example.com');
    // Read after the page: the page was rendered before the escalation whenever this still says none.
    expect(await escalated(request.id)).toBe(false);
    expect(before).not.toContain(request.id);
    expect(await waitingIds('bob@example.com')).toContain(request.id);
    await pollUntil(
      () => escalated(request.id),
      (done) => done,
      { what: 'the escalation' },
    );
    expect(await waitingIds('erin@example.com')).toContain(request.id);

    const erin = await devSignIn(t.url, 'erin@example.com');
    const page = await erin.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(200);
    await erin.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    const row = await t.server.db.prisma.approvalRequest.findUniqueOrThrow({ where: { id: request.id } });
    expect(row.status).toBe('approved');
    expect(await waitingIds('erin@example.com')).not.toContain(request.id);
  });

  it('lists a request for a delegate of an approver, not through the requester', async () => {
    const bob = await devSignIn(t.url, 'bob@example.com');
    const bobPage = await bob.request('GET', `${t.url}/delegation`);
    await bob.request('POST', `${t.url}/delegation`, {
      to: 'carol@example.com',
      until: dateIn(3),
      _csrf: csrfTokenOf(bobPage.text),
    });
    const alice = await devSignIn(t.url, 'alice@example.com');
    const alicePage = await alice.request('GET', `${t.url}/delegation`);
    await alice.request('POST', `${t.url}/delegation`, {
      to: 'hal@example.com',
      until: dateIn(3),
      _csrf: csrfTokenOf(alicePage.text),
    });
    const deploy = await createApproval(t, key, { action: 'deploy.prod' });
    const exportByAlice = await createApproval(t, key, { action: 'db.export' });
    const carolSees = await waitingIds('carol@example.com');
    expect(carolSees).toContain(deploy.id);
    expect(carolSees).toContain(exportByAlice.id);
    const halSees = await waitingIds('hal@example.com');
    expect(halSees).not.toContain(exportByAlice.id);
    expect(halSees).not.toContain(deploy.id);
  });
});
