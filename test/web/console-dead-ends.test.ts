// The console shows no dead ends: Audit says how to become an auditor and is missing from the
// navigation of everyone else; a request names the key that asked and how its requester was
// established; only people the core would let decide see Approve/Deny (the requester, a
// deprovisioned approver, an auditor who is no approver do not; an `idp:` group member does); the
// facts come before the buttons.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { createCookieAgent, csrfTokenOf, type CookieAgent } from '../support/cookie-agent.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `groups:
  reviewers: [bob@example.com, carol@example.com, dora@example.com]
  auditors: [audrey@example.com, ida@example.com]
rules:
  - name: owners
    actions: ["data.*"]
    approvers: ["idp:Data Owners"]
  - name: everything
    actions: ["*"]
    approvers: [group:reviewers]
`;

let policy: TempPolicyFile;
let t: TestServer;
let pipeline: CreatedApiKey;

async function devSignIn(email: string): Promise<CookieAgent> {
  const agent = createCookieAgent();
  const page = await agent.request('GET', `${t.url}/signin`);
  const done = await agent.request('POST', `${t.url}/auth/dev`, { email, _csrf: csrfTokenOf(page.text) });
  expect(done.status, done.text).toBe(303);
  return agent;
}

const hasDecideForms = (html: string, id: string) =>
  html.includes(`action="/requests/${id}/approve"`) || html.includes(`action="/requests/${id}/deny"`);

beforeAll(async () => {
  policy = await writeTempPolicy(POLICY);
  t = await startTestServer({
    env: {
      COUNTERSIGN_DEV_SIGNIN: 'true',
      COUNTERSIGN_POLICY: policy.path,
      COUNTERSIGN_SIGNIN_RATE_LIMIT: '100',
    },
  });
  pipeline = await t.createKey('nightly-pipeline');
  const prisma = t.server.db.prisma;
  // What SCIM would have written: ida is in "Data Owners"; dora was deactivated by the identity provider.
  const ida = await prisma.directoryUser.create({
    data: { userName: 'ida', userNameKey: 'ida', email: 'ida@example.com', active: true },
  });
  const owners = await prisma.directoryGroup.create({
    data: { displayName: 'Data Owners', displayNameKey: 'data owners' },
  });
  await prisma.directoryMember.create({ data: { groupId: owners.id, userId: ida.id } });
  await prisma.directoryUser.create({
    data: { userName: 'dora', userNameKey: 'dora', email: 'dora@example.com', active: false },
  });
});

afterAll(async () => {
  await t?.close();
  await policy?.remove();
});

describe('the Audit page and its link', () => {
  it('tells a non-auditor how to become one, and hides the Audit link from them', async () => {
    const reviewer = await devSignIn('bob@example.com');
    const home = await reviewer.request('GET', `${t.url}/requests`);
    expect(home.status).toBe(200);
    expect(home.text).toContain('href="/requests"');
    expect(home.text).not.toContain('href="/audit"');
    const refused = await reviewer.request('GET', `${t.url}/audit`);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('data-code="NOT_AUDITOR"');
    expect(refused.text).toContain('auditors');
    expect(refused.text).toContain('COUNTERSIGN_POLICY');
    expect(refused.text).toContain('bob@example.com');
    expect(refused.text).not.toContain('href="/audit"');
  });

  it('says on a server with the built-in policy that COUNTERSIGN_POLICY must name a file with auditors', async () => {
    const plain = await startTestServer({ env: { COUNTERSIGN_DEV_SIGNIN: 'true' } });
    try {
      const agent = createCookieAgent();
      const signin = await agent.request('GET', `${plain.url}/signin`);
      await agent.request('POST', `${plain.url}/auth/dev`, {
        email: 'erin@example.com',
        _csrf: csrfTokenOf(signin.text),
      });
      const refused = await agent.request('GET', `${plain.url}/audit`);
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('the built-in policy, which has no auditors');
      expect(refused.text).toMatch(
        /COUNTERSIGN_POLICY to a policy file whose groups: auditors: lists erin@example\.com/,
      );
      expect(refused.text).not.toContain('href="/audit"');
    } finally {
      await plain.close();
    }
  });

  it('shows the Audit link to auditors', async () => {
    const auditor = await devSignIn('audrey@example.com');
    const home = await auditor.request('GET', `${t.url}/requests`);
    expect(home.text).toContain('href="/audit"');
  });
});

describe('who asked', () => {
  it('names the asking key instead of its client id, with the requester proof, on the page and in the list', async () => {
    const request = await createApproval(t, pipeline.key, {
      title: 'Nightly export',
      requester: { email: 'alice@example.com' },
    });
    const agent = await devSignIn('bob@example.com');
    const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(`client:${pipeline.clientId}`);
    expect(page.text).toMatch(/<span class="what">request\.created<\/span> key nightly-pipeline:/);
    expect(page.text).toContain('<dt>Asked by</dt><dd>key nightly-pipeline</dd>');
    expect(page.text).toContain('<dt>Requester proof</dt><dd>claimed by key nightly-pipeline</dd>');
    const list = await agent.request('GET', `${t.url}/requests`);
    const row = list.text.slice(list.text.indexOf(`/requests/${request.id}"`));
    expect(row.slice(0, row.indexOf('</tr>'))).toContain('claimed by key nightly-pipeline');
  });
});

describe('Approve and Deny only for people who can decide', () => {
  it('shows the buttons to an eligible approver, after the facts', async () => {
    const request = await createApproval(t, pipeline.key, { requester: { email: 'alice@example.com' } });
    const page = await (await devSignIn('bob@example.com')).request('GET', `${t.url}/requests/${request.id}`);
    expect(hasDecideForms(page.text, request.id)).toBe(true);
    const facts = page.text.indexOf('<dl class="facts">');
    expect(facts).toBeGreaterThan(0);
    expect(facts).toBeLessThan(page.text.indexOf(`action="/requests/${request.id}/approve"`));
    expect(facts).toBeLessThan(page.text.indexOf('Approve…'));
  });

  it('shows the requester no buttons and says why', async () => {
    const request = await createApproval(t, pipeline.key, { requester: { email: 'carol@example.com' } });
    const page = await (
      await devSignIn('carol@example.com')
    ).request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(200);
    expect(hasDecideForms(page.text, request.id)).toBe(false);
    expect(page.text).not.toContain('Approve…');
    expect(page.text).toContain(
      'You cannot decide this request: you asked for this action, so you cannot decide it.',
    );
  });

  it('shows an auditor who is no approver no buttons', async () => {
    const request = await createApproval(t, pipeline.key, { requester: { email: 'alice@example.com' } });
    const page = await (
      await devSignIn('audrey@example.com')
    ).request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(200);
    expect(hasDecideForms(page.text, request.id)).toBe(false);
    expect(page.text).toContain('You cannot decide this request: you are not an approver for this request.');
  });

  it('goes by the approvers the audit chain recorded, not a row rewritten in SQL', async () => {
    const request = await createApproval(t, pipeline.key, { requester: { email: 'alice@example.com' } });
    await withPgClient(t.database.url, (client) =>
      client.query(
        `UPDATE approval_requests SET approvers = array_append(approvers, 'audrey@example.com') WHERE id = $1`,
        [request.id],
      ),
    );
    const page = await (
      await devSignIn('audrey@example.com')
    ).request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(200);
    expect(hasDecideForms(page.text, request.id)).toBe(false);
    expect(page.text).toContain('You cannot decide this request: you are not an approver for this request.');
  });

  it('shows a listed approver whom the identity provider deactivated no buttons', async () => {
    const request = await createApproval(t, pipeline.key, { requester: { email: 'alice@example.com' } });
    const page = await (
      await devSignIn('dora@example.com')
    ).request('GET', `${t.url}/requests/${request.id}`);
    expect(page.status).toBe(200);
    expect(hasDecideForms(page.text, request.id)).toBe(false);
    expect(page.text).toContain('deactivated or removed your account');
  });

  it('shows the buttons to a member of the idp: group the rule names, and the decision counts', async () => {
    const request = await createApproval(t, pipeline.key, {
      action: 'data.purge',
      requester: { email: 'alice@example.com' },
    });
    const ida = await devSignIn('ida@example.com');
    const page = await ida.request('GET', `${t.url}/requests/${request.id}`);
    expect(hasDecideForms(page.text, request.id)).toBe(true);
    await ida.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    const after = await ida.request('GET', `${t.url}/requests/${request.id}`);
    expect(after.text).toContain('id="status">approved');
    const auditorPage = await (
      await devSignIn('audrey@example.com')
    ).request('GET', `${t.url}/requests/${request.id}`);
    expect(hasDecideForms(auditorPage.text, request.id)).toBe(false);
  });
});
