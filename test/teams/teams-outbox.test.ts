// Teams cards through the durable outbox: a throttling storm while posting 20 cards (all posted,
// once, in order) and a restart between enqueue and post (the card is posted by the next server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TENANT_ID, fakeUser, teamChannel } from '../support/fake-teams/teams-activities.ts';
import { startFakeTeams, type FakeTeams } from '../support/fake-teams/start-fake-teams.ts';
import { pollUntil } from '../support/poll.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:storm-team@thread.tacv2';
const CHANNEL = '19:storm@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Storm');
const POLICY = `groups:
  security: [bob@example.com]
defaults:
  channel: teams:${CHANNEL}
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:security]
`;
const bob = { ...fakeUser('bob'), email: 'bob@example.com' };

function cardRequestId(activity: Record<string, unknown>): string | undefined {
  return /"requestId":"([0-9a-f-]{36})"/.exec(JSON.stringify(activity))?.[1];
}

describe('Teams cards through the outbox', () => {
  let fake: FakeTeams;
  let database: TestDatabase;
  let s: TeamsServer | undefined;
  beforeAll(async () => {
    fake = await startFakeTeams({ tenantId: FAKE_TENANT_ID });
    database = await createTestDatabase();
    fake.channel.addMember(TEAM, {
      id: bob.id,
      aadObjectId: bob.aadObjectId,
      email: bob.email,
      tenantId: FAKE_TENANT_ID,
    });
  });
  afterAll(async () => {
    await s?.close();
    await database?.drop();
    await fake?.close();
  });

  it('posts 20 cards through a storm of 429, 412, 502 and 504: each once, in creation order', async () => {
    s = await startTeamsServer({ policyYaml: POLICY, fake, database });
    expect((await s.install(where, bob)).status).toBe(200);
    const isPost = (method: string, path: string) => method === 'POST' && path.includes('/activities');
    fake.channel.failNext(3, { status: 429, retryAfter: 1, match: isPost });
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      ids.push((await s.create({ action: 'db.export', title: `storm ${i}` })).id);
      if (i === 5) fake.channel.failNext(1, { status: 412, match: isPost });
      if (i === 10) fake.channel.failNext(1, { status: 502, match: isPost });
      if (i === 15) fake.channel.failNext(1, { status: 504, match: isPost });
    }
    const posted = await pollUntil(
      () => fake.channel.messages(CHANNEL).filter((m) => cardRequestId(m.activity)),
      (messages) => messages.length >= 20,
      { what: '20 cards', timeoutMs: 90_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const final = fake.channel
      .messages(CHANNEL)
      .map((m) => cardRequestId(m.activity))
      .filter(Boolean);
    expect(final).toEqual(ids);
    expect(posted).toHaveLength(20);
    const throttled = fake.channel.calls.filter((c) => [429, 412, 502, 504].includes(c.status));
    expect(throttled.length).toBeGreaterThanOrEqual(6);
    for (const id of ids) expect((await s.get(id)).cards[0]?.status).toBe('posted');
    await s.close();
    s = undefined;
  });

  it('posts a card queued before a restart, once, from the next server', async () => {
    const first = await startTeamsServer({
      policyYaml: POLICY,
      fake,
      database,
      env: { COUNTERSIGN_CHAT_WORKERS: '0' },
    });
    const created = await first.create({ action: 'db.export', title: 'queued before the restart' });
    expect((await first.get(created.id)).cards).toEqual([
      { channel: `teams:${CHANNEL}`, status: 'pending', error: null, postedAt: null },
    ]);
    const apiKey = first.apiKey;
    await first.close();
    s = await startTeamsServer({ policyYaml: POLICY, fake, database, apiKey });
    const card = await s.waitForCard(created.id, CHANNEL);
    expect(cardRequestId(card.activity)).toBe(created.id);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(
      fake.channel.messages(CHANNEL).filter((m) => cardRequestId(m.activity) === created.id),
    ).toHaveLength(1);
  });
});
