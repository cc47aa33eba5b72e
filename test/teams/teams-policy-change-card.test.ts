// A proposed policy change on Teams, with the server's Bot Framework verification on: the
// policy.change request's Adaptive Card, as posted to the fake channel, shows the diff in a
// monospace plain-text run; a diff too long for the card ends with "… N more lines in the console".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { FAKE_TENANT_ID, fakeUser, teamChannel } from '../support/fake-teams/teams-activities.ts';
import { startTeamsServer, type TeamsServer } from '../support/teams-server-harness.ts';

const TEAM = '19:platform-team@thread.tacv2';
const CHANNEL = '19:policy-reviews@thread.tacv2';
const where = teamChannel(TEAM, CHANNEL, 'Policy reviews');

const V1 = `groups:
  policy-admins: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - name: policy-changes
    actions: ["policy.change"]
    approvers: [group:policy-admins]
    quorum: 2
    channel: teams:${CHANNEL}
  - name: deploys
    actions: ["deploy.*"]
    approvers: [dave@example.com]
`;

function withRules(count: number): string {
  const rules = Array.from(
    { length: count },
    (_, i) => `  - name: rule-${i}\n    actions: ["job.${i}"]\n    approvers: [erin@example.com]\n`,
  );
  return V1 + rules.join('');
}

type Body = Record<string, unknown>;

function find(node: unknown, match: (n: Body) => boolean): Body[] {
  const found: Body[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const record = value as Body;
      if (match(record)) found.push(record);
      Object.values(record).forEach(visit);
    }
  };
  visit(node);
  return found;
}

describe('a policy.change card on Teams', () => {
  let s: TeamsServer;
  let admin: string;
  const bob = fakeUser('bob');

  beforeAll(async () => {
    s = await startTeamsServer({ policyYaml: V1 });
    s.fake.channel.addMember(TEAM, {
      id: bob.id,
      aadObjectId: bob.aadObjectId,
      name: bob.name,
      tenantId: FAKE_TENANT_ID,
      email: 'bob@example.com',
    });
    expect((await s.install(where, bob)).status).toBe(200);
    admin = (await createApiKey(s.db, { name: 'policy-admin', scopes: ['admin'] })).key;
  });
  afterAll(async () => {
    await s?.close();
  });

  const proposeAndWait = async (text: string): Promise<Body> => {
    const response = await fetch(`${s.url}/v1/policy/proposals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ policy: text, requester: { email: 'alice@example.com' } }),
    });
    const body = (await response.json()) as { approval: { id: string } };
    expect(response.status, JSON.stringify(body)).toBe(201);
    const message = await s.waitForCard(body.approval.id, CHANNEL);
    const attachments = (message.versions[0]?.['attachments'] ?? []) as { content: Body }[];
    const card = attachments[0]?.content;
    expect(card).toBeDefined();
    return card ?? {};
  };
  const monospace = (card: Body) =>
    find(card, (n) => n['type'] === 'TextRun' && n['fontType'] === 'Monospace').map((n) => String(n['text']));
  const runs = (card: Body) => find(card, (n) => n['type'] === 'TextRun').map((n) => String(n['text']));

  it('shows the diff in a monospace run under its heading', async () => {
    const card = await proposeAndWait(withRules(1));
    expect(runs(card)).toContain('Proposed policy change (diff from version 1)');
    const [diff] = monospace(card);
    expect(diff).toMatch(/^--- version 1\n\+\+\+ proposed\n/);
    expect(diff).toContain(
      '\n+  - name: rule-0\n+    actions: ["job.0"]\n+    approvers: [erin@example.com]',
    );
    expect(runs(card).some((t) => t.includes('more line'))).toBe(false);
  });

  it('a long diff shows its first lines and how many more there are', async () => {
    const card = await proposeAndWait(withRules(300));
    const [diff] = monospace(card);
    const shown = String(diff).split('\n').length;
    const { rows } = await s.db.pool.query<{ diff: string }>(
      `SELECT diff FROM policy_proposals ORDER BY created_at DESC LIMIT 1`,
    );
    const total = (rows[0]?.diff ?? '').replace(/\n$/, '').split('\n').length;
    expect(shown).toBeGreaterThan(20);
    expect(total).toBeGreaterThan(shown);
    expect(runs(card)).toContain(`… ${total - shown} more lines in the console`);
  });
});
