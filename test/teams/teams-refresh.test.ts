// Universal Actions refresh, end to end with the server's Bot Framework verification on: the card
// everyone sees is the status card whose `refresh.userIds` lists the eligible approvers the bot
// has learnt the Teams ids of; a `refreshCard` invoke answers each person with the card they may
// see: Approve/Deny for an eligible approver, the status card for anyone else (the requester too).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TENANT_ID, fakeUser, teamChannel } from '../support/fake-teams/teams-activities.ts';
import type { FakeTeamsMessage } from '../support/fake-teams/fake-teams-channel.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:refresh-team@thread.tacv2';
const CHANNEL = '19:refresh-approvals@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Refresh approvals');

// alice is in the group but asks for everything here: never an approver of her own request.
const POLICY = `groups:
  security: [alice@example.com, bob@example.com, dave@example.com]
defaults:
  channel: teams:${CHANNEL}
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:security]
`;

const alice = { ...fakeUser('alice'), email: 'alice@example.com' };
const bob = { ...fakeUser('bob'), email: 'bob@example.com' };
const dave = { ...fakeUser('dave'), email: 'dave@example.com' };
const eve = { ...fakeUser('eve'), email: 'eve@example.com' };

type Body = Record<string, unknown>;

function answeredCard(body: unknown): Body {
  const answer = body as { statusCode: number; type: string; value: Body };
  expect(answer.statusCode).toBe(200);
  expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
  return answer.value;
}

function postedCard(message: FakeTeamsMessage): Body {
  const version = message.versions.at(-1) ?? {};
  const attachments = version['attachments'] as { contentType: string; content: Body }[];
  const card = attachments.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive');
  expect(card).toBeDefined();
  return card?.content ?? {};
}

/** The titles of the card's top-level actions (Approve and Deny are Action.ShowCard steps). */
function actionTitles(card: Body): string[] {
  return ((card['actions'] ?? []) as { title?: string }[]).map((a) => a.title ?? '');
}

function refreshOf(card: Body): { action: Body; userIds: string[] } {
  return card['refresh'] as { action: Body; userIds: string[] };
}

describe('Teams card refresh: only approvers see Approve/Deny', () => {
  let s: TeamsServer;
  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: POLICY });
    for (const m of [alice, bob, dave, eve]) {
      s.fake.channel.addMember(TEAM, {
        id: m.id,
        aadObjectId: m.aadObjectId,
        name: m.name,
        tenantId: FAKE_TENANT_ID,
        email: m.email,
      });
    }
    expect((await s.install(where, eve)).status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('posts the status card with a refresh clause, and answers each refresh by eligibility', async () => {
    const created = await s.create({ action: 'db.export', title: 'Export users' });
    const message = await s.waitForCard(created.id, CHANNEL);
    const shared = postedCard(message);
    expect(shared['version']).toBe('1.5');
    // No Teams id is known yet: nobody is listed, both approvers are counted as left out and
    // the shared card offers the button that asks for one's own view.
    expect(refreshOf(shared)).toEqual({
      action: { type: 'Action.Execute', verb: 'refreshCard', data: { requestId: created.id } },
      userIds: [],
    });
    expect(actionTitles(shared)).not.toContain('Approve');
    expect(actionTitles(shared)).not.toContain('Deny');
    expect(actionTitles(shared)).toContain('Approve or deny (approvers)');
    const logged = await s.serve.waitForLog(
      (l) =>
        l['requestId'] === created.id &&
        l['msg'] === 'Teams card refresh: some eligible approvers are not listed in refresh.userIds',
    );
    expect(logged).toMatchObject({ listed: 0, unknownTeamsId: 2, overLimit: 0 });

    const forBob = answeredCard(
      (await s.click(where, bob, message, 'refreshCard', { requestId: created.id })).body,
    );
    expect(actionTitles(forBob)).toEqual(expect.arrayContaining(['Approve', 'Deny']));
    expect(JSON.stringify(forBob)).toContain('"verb":"approve"');

    for (const onlooker of [eve, alice]) {
      const view = answeredCard(
        (await s.click(where, onlooker, message, 'refreshCard', { requestId: created.id })).body,
      );
      expect(actionTitles(view)).not.toContain('Approve');
      expect(actionTitles(view)).not.toContain('Deny');
      expect(actionTitles(view)).not.toContain('Approve or deny (approvers)');
      expect(JSON.stringify(view)).not.toContain('"verb":"approve"');
      expect(JSON.stringify(view)).toContain('Export users');
      expect(JSON.stringify(view)).toContain('Only the eligible approvers can decide this request.');
    }
    expect((await s.get(created.id)).decisions).toEqual([]);
  });

  it('lists the approvers whose Teams ids it has learnt in refresh.userIds, never the requester', async () => {
    // bob, eve and alice were resolved by the refreshes above; dave has not been seen yet.
    const first = await s.create({ action: 'db.export' });
    const firstCard = postedCard(await s.waitForCard(first.id, CHANNEL));
    expect(refreshOf(firstCard).userIds).toEqual([bob.id]);
    expect(actionTitles(firstCard)).toContain('Approve or deny (approvers)');

    const message = await s.waitForCard(first.id, CHANNEL);
    const forDave = answeredCard(
      (await s.click(where, dave, message, 'refreshCard', { requestId: first.id })).body,
    );
    expect(actionTitles(forDave)).toEqual(expect.arrayContaining(['Approve', 'Deny']));

    const second = await s.create({ action: 'db.export' });
    const secondCard = postedCard(await s.waitForCard(second.id, CHANNEL));
    expect([...refreshOf(secondCard).userIds].sort()).toEqual([bob.id, dave.id].sort());
    expect(refreshOf(secondCard).userIds).not.toContain(alice.id);
    expect(refreshOf(secondCard).userIds).not.toContain(eve.id);
    // Everyone eligible is listed: no button asking for one's own view.
    expect(actionTitles(secondCard)).not.toContain('Approve or deny (approvers)');
  });

  it('gives an approver who has decided the status card, and the verdict card has no refresh', async () => {
    const created = await s.create({ action: 'db.export' });
    const message = await s.waitForCard(created.id, CHANNEL);
    const decided = answeredCard(
      (await s.click(where, bob, message, 'approve', { requestId: created.id })).body,
    );
    expect(decided['refresh']).toBeUndefined();
    expect(JSON.stringify(decided)).toContain('Approved by');
    await s.waitForStatus(created.id, 'approved');
    const after = answeredCard(
      (await s.click(where, dave, message, 'refreshCard', { requestId: created.id })).body,
    );
    expect(after['refresh']).toBeUndefined();
    expect(actionTitles(after)).not.toContain('Approve');
  });

  it('refuses a refresh for a request whose card is another message', async () => {
    const one = await s.create({ action: 'db.export' });
    const other = await s.create({ action: 'db.export' });
    const message = await s.waitForCard(one.id, CHANNEL);
    await s.waitForCard(other.id, CHANNEL);
    const answer = (await s.click(where, bob, message, 'refreshCard', { requestId: other.id })).body as {
      type: string;
      value: string;
    };
    expect(answer.type).toBe('application/vnd.microsoft.activity.message');
    expect(answer.value).toContain('does not belong to this message');
  });
});
