// Nobody left waiting, on Teams: a reminder is a reply in the card's thread that mentions, by the
// Teams id the bot learnt, only the eligible approvers who have not decided (one it has no id for
// is skipped and counted), none after the verdict; the escalation posts a second card in its
// channel and the added approver's click there counts. Verification stays on; event waits only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import {
  FAKE_TENANT_ID,
  fakeUser,
  teamChannel,
  type FakeTeamsUser,
} from '../support/fake-teams/teams-activities.ts';
import type { FakeTeamsMessage } from '../support/fake-teams/fake-teams-channel.ts';
import { pollUntil } from '../support/poll.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:follow-team@thread.tacv2';
const CHANNEL = '19:follow-approvals@thread.tacv2';
const ESCALATION = '19:follow-escalate@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Approvals');
const escalationWhere = teamChannel(TEAM, ESCALATION, 'Escalations');

const POLICY = `defaults:
  channel: teams:${CHANNEL}
rules:
  - name: reminded
    actions: ["deploy.*"]
    approvers: [bob@example.com, carol@example.com, nobody@example.com]
    quorum: 2
    # Late enough that bob's approval is in before the first step on a busy machine.
    remind: [5s, 10s]
  - name: escalated
    actions: ["iam.*"]
    approvers: [bob@example.com]
    escalate: { after: 2s, approvers: [dave@example.com], channel: teams:${ESCALATION} }
`;

const person = (name: string) => ({ ...fakeUser(name), email: `${name}@example.com` });
const alice = person('alice');
const bob = person('bob');
const carol = person('carol');
const dave = person('dave');

function asMember(m: FakeTeamsUser & { email: string }) {
  return { id: m.id, aadObjectId: m.aadObjectId, name: m.name, tenantId: FAKE_TENANT_ID, email: m.email };
}

interface AuditRow {
  type: string;
  payload: Record<string, unknown>;
}

describe('reminders and escalation, on Teams', () => {
  let s: TeamsServer;

  const audit = (requestId: string) =>
    withPgClient(s.database.url, async (pg) => {
      const { rows } = await pg.query<AuditRow>(
        'SELECT type, payload FROM audit_events WHERE request_id = $1 ORDER BY seq',
        [requestId],
      );
      return rows;
    });
  const remindersUnder = (card: FakeTeamsMessage): FakeTeamsMessage[] =>
    s.fake.channel
      .messages(CHANNEL)
      .filter(
        (m) =>
          m.postedTo === `${CHANNEL};messageid=${card.id}` && /Reminder/.test(String(m.activity['text'])),
      );

  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: POLICY });
    for (const m of [alice, bob, carol, dave]) s.fake.channel.addMember(TEAM, asMember(m));
    expect((await s.install(where, bob)).status).toBe(200);
    expect((await s.install(escalationWhere, dave)).status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('mentions only the undecided approvers it knows, counts the one it does not, and stops at the verdict', async () => {
    const created = await s.create({ action: 'deploy.production', title: 'Ship 1.2' });
    const card = await s.waitForCard(created.id, CHANNEL);
    // carol looks at the card (its refresh): the bot learns her Teams id. nobody@ never appears.
    expect((await s.click(where, carol, card, 'refreshCard', { requestId: created.id })).status).toBe(200);
    expect((await s.click(where, bob, card, 'approve', { requestId: created.id })).status).toBe(200);
    await pollUntil(
      () => audit(created.id),
      (rows) => rows.some((r) => r.type === 'decision.recorded'),
      { what: "bob's approval" },
    );

    const [first] = await pollUntil(
      () => Promise.resolve(remindersUnder(card)),
      (replies) => replies.length >= 1,
      { what: 'the first reminder in the card thread', timeoutMs: 30_000 },
    );
    const text = String(first?.activity['text']);
    expect(text).toContain('<at>carol@example.com</at>');
    expect(text).not.toContain('bob@example.com');
    expect(first?.activity['entities']).toEqual([
      {
        type: 'mention',
        text: '<at>carol@example.com</at>',
        mentioned: { id: carol.id, name: 'carol@example.com' },
      },
    ]);
    // The reply is posted before the step's event commits: wait for the event itself.
    const reminded = await pollUntil(
      async () => (await audit(created.id)).filter((e) => e.type === 'request.reminded'),
      (events) => events.length > 0,
      { what: 'the request.reminded event' },
    );
    expect(reminded).toHaveLength(1);
    // Step 1 waits (and is retried) while the card is still on its way, so on a busy machine
    // step 2 can be the first to find it.
    expect([1, 2]).toContain(reminded[0]?.payload['step']);
    expect(reminded[0]?.payload).toMatchObject({
      channels: [{ channel: `teams:${CHANNEL}`, mentioned: ['carol@example.com'] }],
      unresolved: ['nobody@example.com'],
    });

    // carol approves before the second step: the verdict ends the reminders.
    expect((await s.click(where, carol, card, 'approve', { requestId: created.id })).status).toBe(200);
    await s.waitForStatus(created.id, 'approved');
    await pollUntil(
      () =>
        withPgClient(s.database.url, async (pg) => {
          const { rows } = await pg.query<{ state: string }>(
            `SELECT state::text AS state FROM pgboss.job
              WHERE name = 'request-follow-up' AND singleton_key = ANY($1::text[])`,
            [[`${created.id}:remind:1`, `${created.id}:remind:2`]],
          );
          return rows.map((row) => row.state);
        }),
      (states) => states.length === 2 && states.every((state) => state === 'completed'),
      { what: 'both reminder steps to have run', timeoutMs: 30_000 },
    );
    expect(remindersUnder(card)).toHaveLength(1);
    expect((await audit(created.id)).filter((e) => e.type === 'request.reminded')).toHaveLength(1);
  });

  it('escalates into its channel with a second card, and the added approver decides there', async () => {
    const created = await s.create({ action: 'iam.grant', title: 'Grant admin' });
    await s.waitForCard(created.id, CHANNEL);
    const second = await pollUntil(
      () =>
        s.db.prisma.chatCard.findUnique({
          where: { requestId_channel: { requestId: created.id, channel: `teams:${ESCALATION}` } },
        }),
      (card) => Boolean(card?.messageId),
      { what: 'the escalation card', timeoutMs: 30_000 },
    );
    const message = s.fake.channel.message(second?.messageId ?? '');
    expect(message, 'the escalation card in the fake channel').toBeDefined();
    const escalated = (await audit(created.id)).filter((e) => e.type === 'request.escalated');
    expect(escalated.map((e) => e.payload)).toEqual([
      { approvers: ['dave@example.com'], channel: `teams:${ESCALATION}`, afterSeconds: 2 },
    ]);
    expect(
      (
        await s.click(escalationWhere, dave, { id: second?.messageId ?? '' }, 'approve', {
          requestId: created.id,
        })
      ).status,
    ).toBe(200);
    const approved = await s.waitForStatus(created.id, 'approved');
    expect(approved.decisions.map((d) => d.approver.email)).toEqual(['dave@example.com']);
  });
});
