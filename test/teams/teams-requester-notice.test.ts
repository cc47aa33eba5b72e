// The requester's verdict notice on Teams, end to end with verification on: a message in the
// personal chat they opened with the bot, else a reply under the card's thread that mentions them
// by the Teams id the bot learnt. Each is audited as requester.notified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_TENANT_ID,
  fakeUser,
  personalChat,
  teamChannel,
  type FakeTeamsUser,
} from '../support/fake-teams/teams-activities.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { pollUntil } from '../support/poll.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:notice-team@thread.tacv2';
const CHANNEL = '19:notice-approvals@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Notice approvals');

const POLICY = `defaults:
  channel: teams:${CHANNEL}
rules:
  - name: everything
    actions: ["*"]
    approvers: [bob@example.com]
`;

const alice = { ...fakeUser('alice'), email: 'alice@example.com' };
const bob = { ...fakeUser('bob'), email: 'bob@example.com' };
const eve = { ...fakeUser('eve'), email: 'eve@example.com' };

function asMember(m: FakeTeamsUser & { email: string }) {
  return { id: m.id, aadObjectId: m.aadObjectId, name: m.name, tenantId: FAKE_TENANT_ID, email: m.email };
}

async function notified(s: TeamsServer, requestId: string): Promise<unknown> {
  return pollUntil(
    () =>
      withPgClient(s.database.url, async (pg) => {
        const { rows } = await pg.query<{ payload: unknown }>(
          `SELECT payload FROM audit_events WHERE request_id = $1 AND type = 'requester.notified'`,
          [requestId],
        );
        return rows.map((r) => r.payload);
      }),
    (rows) => rows.length > 0,
    { what: `requester.notified of ${requestId}` },
  );
}

describe("Teams: the requester's verdict notice", () => {
  let s: TeamsServer;
  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: POLICY });
    for (const m of [alice, bob, eve]) s.fake.channel.addMember(TEAM, asMember(m));
    s.fake.channel.addMember(personalChat(alice).id, asMember(alice));
    expect((await s.install(where, bob)).status).toBe(200);
    // alice adds the app for herself: the bot stores the personal chat and learns who she is.
    expect((await s.install(personalChat(alice), alice)).status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('tells the requester in her personal chat with the bot', async () => {
    const created = await s.create({ action: 'db.export', title: 'Export users' });
    const card = await s.waitForCard(created.id, CHANNEL);
    await s.click(where, bob, card, 'approve', { requestId: created.id });
    await s.waitForStatus(created.id, 'approved');
    const [message] = await pollUntil(
      () => Promise.resolve(s.fake.channel.messages(personalChat(alice).id)),
      (messages) => messages.length > 0,
      { what: "a message in alice's personal chat" },
    );
    expect(String(message?.activity['text'])).toContain(
      'Your request "Export users" (db.export) was approved by bob@example.com.',
    );
    expect(await notified(s, created.id)).toEqual([
      { status: 'approved', via: 'direct_message', platform: 'teams', detail: null },
    ]);
  });

  it('mentions a requester without a personal chat under the card, by the Teams id the bot learnt', async () => {
    const created = await s.create({ action: 'db.export', requester: { email: 'eve@example.com' } });
    const card = await s.waitForCard(created.id, CHANNEL);
    // eve looks at the card (its refresh): the bot learns her Teams id.
    await s.click(where, eve, card, 'refreshCard', { requestId: created.id });
    await s.click(where, bob, card, 'deny', { requestId: created.id, denyReason: 'not today' });
    await s.waitForStatus(created.id, 'denied');
    const [reply] = await pollUntil(
      () =>
        Promise.resolve(
          s.fake.channel.messages(CHANNEL).filter((m) => m.postedTo === `${CHANNEL};messageid=${card.id}`),
        ),
      (messages) => messages.length > 0,
      { what: 'a reply in the thread of the card' },
    );
    expect(String(reply?.activity['text'])).toContain('<at>eve@example.com</at>');
    expect(String(reply?.activity['text'])).toContain('was denied by bob@example.com');
    expect(reply?.activity['entities']).toEqual([
      {
        type: 'mention',
        text: '<at>eve@example.com</at>',
        mentioned: { id: eve.id, name: 'eve@example.com' },
      },
    ]);
    expect(await notified(s, created.id)).toEqual([
      { status: 'denied', via: 'card_thread', platform: 'teams', detail: null },
    ]);
  });
});
