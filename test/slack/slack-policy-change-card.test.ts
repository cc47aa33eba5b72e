// A proposed policy change on Slack: the policy.change request's card, posted through the fake
// Slack Web API, shows the diff as a code block (a long one with "… N more lines in the console"),
// and its Approve buttons work like any card's: the proposer is refused, two admins make it the
// version in force.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { pollUntil } from '../support/poll.ts';
import {
  APPROVE,
  CHANNEL,
  blockText,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

const V1 = `groups:
  policy-admins: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - name: policy-changes
    actions: ["policy.change"]
    approvers: [group:policy-admins]
    quorum: 2
    channel: slack:${CHANNEL}
  - name: deploys
    actions: ["deploy.*"]
    approvers: [dave@example.com]
`;

/** V1 with `count` more rules: each adds four lines to the diff. */
function withRules(count: number): string {
  const rules = Array.from(
    { length: count },
    (_, i) =>
      `  - name: rule-${i}\n    actions: ["job.${i}"]\n    approvers: [erin@example.com]\n    quorum: 1\n`,
  );
  return V1 + rules.join('');
}

interface ProposalAnswer {
  approval: { id: string };
}

describe('a policy.change card on Slack', () => {
  let h: SlackHarness;
  let admin: string;
  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: V1 });
    admin = (await h.t.createKey('policy-admin', ['admin'])).key;
  });
  afterAll(async () => {
    await h?.close();
  });

  const propose = async (text: string, proposer = 'alice@example.com') => {
    const answer = await h.t.call<ProposalAnswer>('POST', '/v1/policy/proposals', {
      key: admin,
      body: { policy: text, requester: { email: proposer } },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body.approval.id;
  };

  it('shows the diff as a code block; the proposer is refused and two admins adopt it', async () => {
    const id = await propose(withRules(1));
    const card = await h.waitForCard(id);
    const text = blockText(card);
    expect(text).toContain(
      '*Proposed policy change* (diff from version 1)\n```\n--- version 1\n+++ proposed\n',
    );
    expect(text).toContain('\n+  - name: rule-0\n+    actions: ["job.0"]\n');
    expect(text).not.toContain('more line');

    await h.click('U0ALICE', card, APPROVE);
    await h.waitForRefusals(id, 1);
    await h.click('U0BOB', card, APPROVE);
    await h.click('U0CAROL', card, APPROVE);
    await pollUntil(
      async () =>
        (await h.t.call<{ status: string }>('GET', `/v1/approvals/${id}`, { key: admin })).body.status,
      (status) => status === 'approved',
      { what: 'the proposal approved' },
    );
    const versions = await withPgClient(h.t.database.url, async (client) => {
      const { rows } = await client.query<{ version: number }>(
        'SELECT version FROM policy_versions ORDER BY version',
      );
      return rows.map((r) => r.version);
    });
    expect(versions).toEqual([1, 2]);
  });

  it('a diff too long for the card shows its first lines and how many more there are', async () => {
    const id = await propose(withRules(200), 'bob@example.com');
    const card = await h.waitForCard(id);
    const text = blockText(card);
    const match = /\n```\n… (\d+) more lines in the console/.exec(text);
    expect(match, text).not.toBeNull();
    const shown = text.slice(text.indexOf('```\n') + 4, text.lastIndexOf('\n```')).split('\n');
    const diffLines = await withPgClient(h.t.database.url, async (client) => {
      const { rows } = await client.query<{ diff: string }>(
        'SELECT diff FROM policy_proposals WHERE request_id = $1',
        [id],
      );
      return rows[0]?.diff.replace(/\n$/, '').split('\n').length ?? 0;
    });
    expect(shown.length).toBeGreaterThan(20);
    expect(Number(match?.[1])).toBe(diffLines - shown.length);
  });
});
