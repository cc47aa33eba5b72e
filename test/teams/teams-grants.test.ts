// A time-bound grant chosen on the Teams card, with the server's Bot Framework verification on:
// the approver's own view (the card refresh) offers "Approve for N min" as Action.Execute, the
// invoke opens a grant through the same core decide call as Slack, and a later request of the
// same tool, requester and agent is approved by the grant at once, without a card. A window the
// rule does not allow is refused privately and records nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { FAKE_TENANT_ID, fakeUser, teamChannel } from '../support/fake-teams/teams-activities.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:platform-team@thread.tacv2';
const CHANNEL = '19:agent-tools@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Agent tools');

const POLICY = `defaults:
  channel: teams:${CHANNEL}
rules:
  - name: agent-tools
    actions: ["mcp.calc.*"]
    approvers: [bob@example.com]
    grant: { upTo: 1h }
`;

const alice = { ...fakeUser('alice'), email: 'alice@example.com' };
const bob = { ...fakeUser('bob'), email: 'bob@example.com' };

type Body = Record<string, unknown>;

function answerOf(body: unknown): { type: string; value: unknown } {
  const answer = body as { statusCode: number; type: string; value: unknown };
  expect(answer.statusCode).toBe(200);
  return answer;
}

function executes(node: unknown): Body[] {
  const found: Body[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const record = value as Body;
      if (record['type'] === 'Action.Execute') found.push(record);
      Object.values(record).forEach(visit);
    }
  };
  visit(node);
  return found;
}

describe('Teams time-bound grants', () => {
  let s: TeamsServer;
  const query = <R>(sql: string, params: unknown[] = []) =>
    withPgClient(s.database.url, async (c) => (await c.query(sql, params)).rows as R[]);

  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: POLICY });
    for (const m of [alice, bob]) {
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

  it('opens a grant from "Approve for 15 min", and a later request in the window passes without a card', async () => {
    const agent = { name: 'coding-agent' };
    const first = await s.create({ action: 'mcp.calc.add', agent, context: { a: 1, b: 2 } });
    const card = await s.waitForCard(first.id, CHANNEL);
    const bobsView = answerOf((await s.click(where, bob, card, 'refreshCard', { requestId: first.id })).body);
    const offered = executes(bobsView.value).filter((e) => e['verb'] === 'approve');
    expect(offered.map((e) => [e['title'], e['data']])).toEqual([
      ['Confirm approval', { requestId: first.id }],
      ['Approve for 15 min', { requestId: first.id, grantMinutes: 15 }],
      ['Approve for 60 min', { requestId: first.id, grantMinutes: 60 }],
    ]);
    expect(JSON.stringify(bobsView.value)).toContain(
      'later mcp.calc.add requests from alice@example.com (agent coding-agent)',
    );

    const approved = answerOf(
      (await s.click(where, bob, card, 'approve', { requestId: first.id, grantMinutes: 15 })).body,
    );
    expect(approved.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(JSON.stringify(approved.value)).toContain('Approved by');
    await s.waitForStatus(first.id, 'approved');
    const [grant] = await query<{ id: string; minutes: number; agent_name: string; approvers: string[] }>(
      'SELECT id::text, minutes, agent_name, approvers FROM grants WHERE request_id = $1::uuid',
      [first.id],
    );
    expect(grant).toMatchObject({ minutes: 15, agent_name: 'coding-agent', approvers: ['bob@example.com'] });
    if (!grant) throw new Error('no grant');

    const second = await s.create({ action: 'mcp.calc.add', agent, context: { a: 2, b: 3 } });
    expect(second.status).toBe('approved');
    expect(second.decisions).toMatchObject([{ approver: { platform: 'grant' }, verdict: 'approve' }]);
    const decided = await query<{ actor: string; grant_id: string | null }>(
      `SELECT actor, payload->>'grantId' AS grant_id FROM audit_events
        WHERE request_id = $1::uuid AND type = 'decision.recorded'`,
      [second.id],
    );
    expect(decided).toEqual([{ actor: `grant:${grant.id}`, grant_id: grant.id }]);
    const cards = await s.db.prisma.chatCard.findMany({ where: { requestId: second.id } });
    expect(cards).toEqual([]);

    // Another agent is not covered: its request is put to people.
    const other = await s.create({ action: 'mcp.calc.add', agent: { name: 'other-agent' } });
    expect(other.status).toBe('pending');
  });

  it('refuses a window longer than the rule allows, or not a number, privately, and records nothing', async () => {
    const created = await s.create({ action: 'mcp.calc.sub', agent: { name: 'coding-agent' } });
    const card = await s.waitForCard(created.id, CHANNEL);
    for (const grantMinutes of [120, '15']) {
      const answer = answerOf(
        (await s.click(where, bob, card, 'approve', { requestId: created.id, grantMinutes })).body,
      );
      expect(answer.type).toBe('application/vnd.microsoft.activity.message');
      expect(String(answer.value)).toContain('could not record your decision');
    }
    expect(await s.get(created.id)).toMatchObject({ status: 'pending', decisions: [] });
    expect(await query('SELECT id FROM grants WHERE request_id = $1::uuid', [created.id])).toEqual([]);
  });
});
