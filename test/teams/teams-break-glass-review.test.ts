// Acknowledge and Flag on a break-glass card in Teams (issue #25 item 6): a reviewer's
// Action.Execute reviews the use as the clicker's corporate email and is answered with the card
// without the buttons; the requester is refused privately and nothing is recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TENANT_ID, fakeUser, teamChannel } from '../support/fake-teams/teams-activities.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:platform-team@thread.tacv2';
const CHANNEL = '19:ops@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Ops');

const POLICY = `rules:
  - name: prod-fix
    actions: ["prod.*"]
    approvers: [bob@example.com]
    channel: teams:${CHANNEL}
    breakGlass: { allowed: true, reviewWithin: 4h, reviewers: [dave@example.com] }
`;

const alice = { ...fakeUser('alice'), email: 'alice@example.com' };
const bob = { ...fakeUser('bob'), email: 'bob@example.com' };
const dave = { ...fakeUser('dave'), email: 'Dave@Example.com' };

type Body = Record<string, unknown>;

function answerOf(body: unknown): { type: string; value: unknown } {
  const answer = body as { statusCode: number; type: string; value: unknown };
  expect(answer.statusCode).toBe(200);
  return answer;
}

describe('break-glass review buttons on the Teams card', () => {
  let s: TeamsServer;
  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: POLICY });
    for (const m of [alice, bob, dave]) {
      s.fake.channel.addMember(TEAM, {
        id: m.id,
        aadObjectId: m.aadObjectId,
        name: m.name,
        tenantId: FAKE_TENANT_ID,
        email: m.email,
      });
    }
    expect((await s.install(where, bob)).status).toBe(200);
  });
  afterAll(async () => {
    await s?.close();
  });

  const reviewedEvents = (requestId: string) =>
    withPgClient(
      s.database.url,
      async (c) =>
        (
          await c.query<{ actor: string; payload: Body }>(
            "SELECT actor, payload FROM audit_events WHERE request_id = $1 AND type = 'breakglass.reviewed'",
            [requestId],
          )
        ).rows,
    );

  it('the requester is refused privately; a reviewer acknowledges and gets the card without buttons', async () => {
    const created = await s.create({ action: 'prod.restart', breakGlass: 'prod down, INC-123' });
    expect(created.status).toBe('approved');
    const card = await s.waitForCard(created.id, CHANNEL);
    const posted = JSON.stringify(card.versions[0]);
    expect(posted).toContain('"verb":"acknowledge"');
    expect(posted).toContain('"verb":"flag"');

    const refused = answerOf(
      (await s.click(where, alice, card, 'acknowledge', { requestId: created.id })).body,
    );
    expect(refused.type).toBe('application/vnd.microsoft.activity.message');
    expect(refused.value).toMatch(/not one of this break-glass use's reviewers/);
    expect(await reviewedEvents(created.id)).toEqual([]);
    expect((await s.get(created.id)).breakGlass).toMatchObject({ review: 'pending', reviewedBy: null });

    const answer = answerOf(
      (await s.click(where, dave, card, 'acknowledge', { requestId: created.id })).body,
    );
    expect(answer.type).toBe('application/vnd.microsoft.card.adaptive');
    const after = JSON.stringify(answer.value);
    expect(after).not.toContain('"Action.Execute"');
    expect(after).toContain('Review: acknowledged by dave@example.com');
    expect(await reviewedEvents(created.id)).toEqual([
      {
        actor: 'dave@example.com',
        payload: { outcome: 'acknowledged', reviewer: 'dave@example.com', note: null },
      },
    ]);
  });
});
