// Teams end to end, with the server's Bot Framework verification on: install → request → card
// posted to that conversation → Action.Execute by members → verdict → every view updated →
// callback; refusals told privately and audited; deny reasons; clicks after the verdict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_TENANT_ID,
  fakeUser,
  teamChannel,
  type FakeTeamsUser,
} from '../support/fake-teams/teams-activities.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:platform-team@thread.tacv2';
const CHANNEL = '19:security-approvals@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Security approvals');

const POLICY = `groups:
  security: [bob@example.com, carol@example.com, dave@example.com]
defaults:
  channel: teams:${CHANNEL}
rules:
  - name: privilege-escalation
    actions: ["iam.*"]
    approvers: [group:security]
    quorum: 2
  - name: data-deletion
    actions: ["db.drop"]
    approvers: [group:security]
    denyReason: required
  - name: everything-else
    actions: ["*"]
    approvers: [group:security]
`;

interface Member extends FakeTeamsUser {
  email?: string;
  upn?: string;
}

function member(name: string, email?: string, upn?: string): Member {
  return { ...fakeUser(name), ...(email ? { email } : {}), ...(upn ? { upn } : {}) };
}

const alice = member('alice', 'Alice@Example.com');
const bob = member('bob', 'bob@example.com');
const carol = member('carol', undefined, 'CAROL@example.com');
const dave = member('dave', 'dave@example.com');
const nomail = member('nomail');

type Body = Record<string, unknown>;

const DENY_REASON_INPUT_ID = '"id":"denyReason"';

function cardOf(body: unknown): Body {
  const answer = body as { statusCode: number; type: string; value: Body };
  expect(answer.statusCode).toBe(200);
  expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
  return answer.value;
}

function messageOf(body: unknown): string {
  const answer = body as { statusCode: number; type: string; value: string };
  expect(answer.type).toBe('application/vnd.microsoft.activity.message');
  return answer.value;
}

function cardInVersion(version: Record<string, unknown>): Body {
  const attachments = version['attachments'] as { contentType: string; content: Body }[];
  const card = attachments.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive');
  expect(card).toBeDefined();
  return card?.content ?? {};
}

function hasButtons(card: Body): boolean {
  return JSON.stringify(card).includes('"Action.Execute"');
}

describe('Teams approvals end to end', () => {
  let s: TeamsServer;
  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: POLICY });
    for (const m of [alice, bob, carol, dave, nomail]) {
      s.fake.channel.addMember(TEAM, {
        id: m.id,
        aadObjectId: m.aadObjectId,
        name: m.name,
        tenantId: FAKE_TENANT_ID,
        ...(m.email ? { email: m.email } : {}),
        ...(m.upn ? { userPrincipalName: m.upn } : {}),
      });
    }
    const installed = await s.install(where, bob);
    expect(installed.status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('stores the conversation on install, posts the card there, and approves on an eligible click', async () => {
    const created = await s.create({
      action: 'db.export',
      title: 'Export users',
      context: { table: 'users' },
    });
    const card = await s.waitForCard(created.id, CHANNEL);
    expect(card.conversationId).toBe(CHANNEL);
    const posted = cardInVersion(card.versions[0] ?? {});
    expect(posted['version']).toBe('1.5');
    expect(JSON.stringify(posted)).toContain('Export users');
    expect(hasButtons(posted)).toBe(true);
    // Approve/Deny are in the approvers' own view, which Teams asks for through the refresh.
    expect(posted['refresh']).toMatchObject({
      action: { verb: 'refreshCard', data: { requestId: created.id } },
    });
    const bobsView = cardOf((await s.click(where, bob, card, 'refreshCard', { requestId: created.id })).body);
    expect(JSON.stringify(bobsView)).toContain('"verb":"approve"');
    expect(JSON.stringify(bobsView)).toContain('"verb":"deny"');
    expect(JSON.stringify(posted)).toContain(created.id);

    const answer = await s.click(where, bob, card, 'approve', { requestId: created.id });
    expect(answer.status).toBe(200);
    const refreshed = cardOf(answer.body);
    expect(hasButtons(refreshed)).toBe(false);
    expect(JSON.stringify(refreshed)).toContain('Approved by');

    const approved = await s.waitForStatus(created.id, 'approved');
    expect(approved.decisions).toMatchObject([
      {
        approver: { email: 'bob@example.com', platform: 'teams', platformUserId: bob.aadObjectId },
        verdict: 'approve',
      },
    ]);
    expect(approved.receipt).toEqual(expect.any(String));
    // Everyone else's view: the message itself is updated, buttons gone, outcome shown.
    const updated = await pollForVersions(s, card.id, 2);
    const last = cardInVersion(updated.versions.at(-1) ?? {});
    expect(hasButtons(last)).toBe(false);
    expect(JSON.stringify(last)).toContain('Approved by');
    const [callback] = await s.receiver.waitForCount(1);
    expect(callback?.signature.valid).toBe(true);
    expect(callback?.body).toMatchObject({
      type: 'approval.decided',
      approval: { id: created.id, status: 'approved' },
    });
  });

  it('refuses the requester (email in another case) privately and audits it', async () => {
    const created = await s.create({ action: 'db.export', requester: { email: 'alice@example.com' } });
    const card = await s.waitForCard(created.id, CHANNEL);
    const answer = await s.click(where, alice, card, 'approve', { requestId: created.id });
    expect(messageOf(answer.body)).toContain('You asked for this action');
    expect((await s.get(created.id)).status).toBe('pending');
    expect(await refusals(s, created.id)).toEqual(['self_approval']);
  });

  it('refuses a member with neither email nor UPN (fail closed) and counts a UPN when there is no email', async () => {
    const created = await s.create({ action: 'iam.role.grant' });
    const card = await s.waitForCard(created.id, CHANNEL);
    const refused = await s.click(where, nomail, card, 'approve', { requestId: created.id });
    expect(messageOf(refused.body)).toContain('could not read your email from your Microsoft Teams profile');
    expect(await refusals(s, created.id)).toEqual(['identity_unresolved']);
    const byUpn = await s.click(where, carol, card, 'approve', { requestId: created.id });
    expect(JSON.stringify(cardOf(byUpn.body))).toContain('1 of 2 approvals');
    expect((await s.get(created.id)).decisions.map((d) => d.approver.email)).toEqual(['carol@example.com']);
  });

  it('counts quorum by distinct people: the same person twice stays one approval', async () => {
    const created = await s.create({ action: 'iam.role.grant' });
    const card = await s.waitForCard(created.id, CHANNEL);
    await s.click(where, bob, card, 'approve', { requestId: created.id });
    const again = await s.click(where, bob, card, 'approve', { requestId: created.id });
    expect(JSON.stringify(cardOf(again.body))).toContain('1 of 2 approvals');
    expect((await s.get(created.id)).status).toBe('pending');
    await s.click(where, dave, card, 'approve', { requestId: created.id });
    await s.waitForStatus(created.id, 'approved');
  });

  it('asks for a reason where the rule requires one, and records a deny with it', async () => {
    const created = await s.create({ action: 'db.drop' });
    const card = await s.waitForCard(created.id, CHANNEL);
    // The shared card has no Deny step: the approver's own view (the card refresh) holds it.
    expect(JSON.stringify(cardInVersion(card.versions[0] ?? {}))).not.toContain(DENY_REASON_INPUT_ID);
    const mine = await s.click(where, bob, card, 'refreshCard', { requestId: created.id });
    const cardJson = JSON.stringify(cardOf(mine.body));
    expect(cardJson).toContain(DENY_REASON_INPUT_ID);
    expect(cardJson).toContain('"isRequired":true');
    const without = await s.click(where, bob, card, 'deny', { requestId: created.id, denyReason: '  ' });
    expect(messageOf(without.body)).toContain('requires a reason');
    expect((await s.get(created.id)).decisions).toEqual([]);
    const withReason = await s.click(where, bob, card, 'deny', {
      requestId: created.id,
      denyReason: 'not during the freeze',
    });
    expect(JSON.stringify(cardOf(withReason.body))).toContain('not during the freeze');
    const denied = await s.waitForStatus(created.id, 'denied');
    expect(denied.decisions[0]).toMatchObject({ verdict: 'deny', reason: 'not during the freeze' });
  });

  it('refuses a deny reason over 2,000 characters as typed, naming both lengths, and records nothing', async () => {
    const created = await s.create({ action: 'db.export' });
    const card = await s.waitForCard(created.id, CHANNEL);
    // 1,990 characters and 20 line breaks sent as CRLF: 2,030 UTF-16 units, 2,010 as typed.
    const tooLong = 'x'.repeat(1970) + '\r\ny'.repeat(20);
    const refused = await s.click(where, dave, card, 'deny', { requestId: created.id, denyReason: tooLong });
    expect(messageOf(refused.body)).toBe(
      'The reason is 2,010 characters long (line breaks count once); the limit is 2,000. Shorten it and send again.',
    );
    expect((await s.get(created.id)).decisions).toEqual([]);
  });

  it('records a deny without a reason where none is required', async () => {
    const created = await s.create({ action: 'db.export' });
    const card = await s.waitForCard(created.id, CHANNEL);
    await s.click(where, dave, card, 'deny', { requestId: created.id });
    expect((await s.waitForStatus(created.id, 'denied')).decisions[0]).toMatchObject({
      verdict: 'deny',
      reason: null,
    });
  });

  it('refuses a click after the verdict politely, and one on another message', async () => {
    const created = await s.create({ action: 'db.export' });
    const card = await s.waitForCard(created.id, CHANNEL);
    await s.click(where, bob, card, 'approve', { requestId: created.id });
    await s.waitForStatus(created.id, 'approved');
    const late = await s.click(where, dave, card, 'deny', { requestId: created.id });
    expect(messageOf(late.body)).toContain('already has its verdict');
    const other = await s.create({ action: 'db.export' });
    await s.waitForCard(other.id, CHANNEL);
    const mismatch = await s.click(where, dave, card, 'approve', { requestId: other.id });
    expect(messageOf(mismatch.body)).toContain('does not belong to this message');
    expect((await s.get(other.id)).decisions).toEqual([]);
  });
});

async function refusals(s: TeamsServer, requestId: string): Promise<unknown[]> {
  return withPgClient(s.database.url, async (pg) => {
    const { rows } = await pg.query<{ reason: unknown }>(
      `SELECT payload->>'reason' AS reason FROM audit_events
        WHERE request_id = $1 AND type = 'decision.refused' ORDER BY seq`,
      [requestId],
    );
    return rows.map((r) => r.reason);
  });
}

async function pollForVersions(s: TeamsServer, activityId: string, count: number) {
  const { pollUntil } = await import('../support/poll.ts');
  const message = await pollUntil(
    () => s.fake.channel.message(activityId),
    (m) => (m?.versions.length ?? 0) >= count,
    { what: `${count} versions of ${activityId}` },
  );
  if (!message) throw new Error('no message');
  return message;
}
