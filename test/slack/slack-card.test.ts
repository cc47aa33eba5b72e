// The approval card as posted to Slack (blocks, masked context, metadata, stored ts), and the card
// brought up to date when a request reaches its verdict without a click: expiry and cancel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { findButtons, type SlackBlock } from '../support/fake-slack.ts';
import { pollUntil } from '../support/poll.ts';
import {
  APPROVE,
  CHANNEL,
  DENY,
  blockText,
  hasButtons,
  metadataRequestId,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

const POLICY = `defaults:
  channel: slack:${CHANNEL}
rules:
  - name: data-exports
    actions: ["db.export"]
    approvers: [bob@example.com, carol@example.com]
  - name: everything-else
    actions: ["*"]
    approvers: [bob@example.com, carol@example.com]
`;

const RAW_SECRET = 'sk-live-abc123456';

function exportBody() {
  return {
    action: 'db.export',
    title: 'Export users table to the analytics bucket',
    reason: 'Quarterly churn analysis',
    requester: { email: 'alice@example.com', name: 'Alice' },
    agent: { name: 'analytics-agent', model: 'gpt-x', runId: 'run_123' },
    context: { table: 'users', rows: 120000, token: RAW_SECRET, notes: 'n'.repeat(500) },
  };
}

/** The texts of the card's section fields, by their bold label. */
function fieldsByLabel(blocks: SlackBlock[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of blocks) {
    if (block.type !== 'section' || !Array.isArray(block['fields'])) continue;
    for (const field of block['fields'] as { text: string }[]) {
      const match = /^\*([^*]+)\*\n([\s\S]*)$/.exec(field.text);
      if (match?.[1] !== undefined && match[2] !== undefined) out[match[1]] = match[2];
    }
  }
  return out;
}

function slackDateToken(iso: string): string {
  return `<!date^${Math.floor(Date.parse(iso) / 1000)}^{date_short_pretty} at {time}|${new Date(iso).toISOString()}>`;
}

describe('Slack approval card', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: POLICY, env: { COUNTERSIGN_EXPIRY_SWEEP_MS: '200' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('posts a card with the request, masked context, quorum, expiry token, id and bound buttons', async () => {
    const created = await h.create(exportBody());
    expect(created.context['token']).toBe('••••3456');
    const message = await h.waitForCard(created.id);
    const blocks = message.blocks ?? [];

    expect(blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text', text: created.title } });
    expect(fieldsByLabel(blocks)).toEqual({
      Action: '`db.export`',
      Requester: 'alice@example.com (Alice)',
      'Requester proof': 'claimed by key test-client-1',
      Agent: 'analytics-agent · gpt-x · run `run_123`',
      'Policy rule': '`data-exports`',
      Quorum: '0 of 1 approval',
      Expires: slackDateToken(created.expiresAt),
      'Request id': `\`${created.id}\``,
    });
    const text = blockText(blocks);
    expect(text).toContain('*Reason*\nQuarterly churn analysis');
    expect(text).toContain('*Context* (secrets masked)');
    expect(text).toContain('*token*: ••••3456');
    expect(text).toContain('*table*: users');
    expect(text).toContain('*rows*: 120000');
    // A long value is cut with a visible marker.
    expect(text).toMatch(/\*notes\*: n+… \(truncated\)/);
    expect(text).not.toContain('n'.repeat(300));
    expect(message.text).toContain('Approval needed: Export users table to the analytics bucket');

    const actions = blocks.find((b) => b.type === 'actions');
    expect(actions?.block_id).toBe(`countersign_actions:${created.id}`);
    const buttons = findButtons(message);
    expect(buttons.map((b) => [b.actionId, b.text, b.value, b.style])).toEqual([
      [APPROVE, 'Approve', created.id, 'primary'],
      [DENY, 'Deny', created.id, 'danger'],
    ]);
    expect(buttons[0]?.confirm).toMatchObject({
      title: { type: 'plain_text', text: 'Approve this request?' },
      confirm: { type: 'plain_text', text: 'Approve' },
      deny: { type: 'plain_text', text: 'Cancel' },
    });
    expect(buttons[1]?.confirm).toBeUndefined();

    expect(message.metadata).toEqual({
      event_type: 'countersign_card',
      event_payload: { request_id: created.id },
    });
    expect(metadataRequestId(message)).toBe(created.id);

    const row = await h.cardRow(created.id);
    expect(row).toMatchObject({ channel: `slack:${CHANNEL}`, messageId: message.ts });
    expect(row?.shownVersion).toBe(row?.version);
    expect(row?.postedAt).not.toBeNull();
    expect(h.fake.messages(CHANNEL).filter((m) => metadataRequestId(m) === created.id)).toHaveLength(1);

    // The unmasked secret went nowhere near Slack: not in any call, nor in any stored message.
    const everything = JSON.stringify([h.fake.calls(), h.fake.messages(CHANNEL)]);
    expect(everything).not.toContain(RAW_SECRET);
    expect(everything).not.toContain('abc123456');
    // …nor into the database.
    const stored = await withPgClient(h.t.database.url, async (client) => {
      const { rows } = await client.query<{ dump: string }>(
        `SELECT (SELECT string_agg(r::text, '|') FROM approval_requests r) ||
                (SELECT string_agg(a::text, '|') FROM audit_events a) AS dump`,
      );
      return rows[0]?.dump ?? '';
    });
    expect(stored).not.toContain(RAW_SECRET);
  });

  it('updates the card when the request expires unanswered: buttons gone, outcome shown', async () => {
    const created = await h.create({ action: 'deploy.staging', title: 'Deploy staging' });
    const message = await h.waitForCard(created.id);
    expect(hasButtons(message)).toBe(true);

    await withPgClient(h.t.database.url, (client) =>
      client.query(`UPDATE approval_requests SET expires_at = now() - interval '1 second' WHERE id = $1`, [
        created.id,
      ]),
    );
    await h.waitForStatus(created.id, 'expired');
    const updated = await h.waitForMessage(
      message.ts,
      (m) => !hasButtons(m),
      'the expired card without buttons',
    );
    expect(blockText(updated)).toContain('*⌛ Expired unanswered*');
    expect(fieldsByLabel(updated.blocks ?? [])).toHaveProperty('Expiry');
    expect(updated.text).toContain('Expired unanswered: Deploy staging');
    expect(updated.blocks?.some((b) => b.type === 'actions')).toBe(false);
    expect(h.fake.messages(CHANNEL).filter((m) => metadataRequestId(m) === created.id)).toHaveLength(1);

    // A click on a copy of the card that still shows buttons is refused, privately.
    const response = await h.click('U0BOB', message, APPROVE);
    expect(response.status).toBe(200);
    const [refusal] = await h.waitForRefusals(created.id, 1);
    expect(refusal?.payload).toMatchObject({ reason: 'already_decided', status: 'expired' });
    const ephemerals = await h.fake.waitForEphemerals(1);
    expect(ephemerals.at(-1)).toMatchObject({ channel: CHANNEL, user: 'U0BOB' });
    expect(ephemerals.at(-1)?.text).toMatch(/already has its verdict/);
    expect(await h.decisions(created.id)).toEqual([]);
  });

  it('updates the card when the requester cancels: buttons gone, outcome shown', async () => {
    const created = await h.create({ action: 'deploy.staging', title: 'Deploy staging again' });
    const message = await h.waitForCard(created.id);
    expect(hasButtons(message)).toBe(true);

    const cancelled = await h.t.call('POST', `/v1/approvals/${created.id}/cancel`, {
      key: h.key,
      body: { reason: 'pipeline aborted' },
    });
    expect(cancelled.status).toBe(200);
    const updated = await h.waitForMessage(
      message.ts,
      (m) => !hasButtons(m),
      'the cancelled card without buttons',
    );
    expect(blockText(updated)).toContain("*🚫 Cancelled by the requester's client*");
    expect(updated.text).toContain('Cancelled');
    expect(h.fake.updates(CHANNEL).filter((u) => u.ts === message.ts).length).toBeGreaterThanOrEqual(1);
    expect(h.fake.messages(CHANNEL).filter((m) => metadataRequestId(m) === created.id)).toHaveLength(1);
    // The flush records the shown version after the platform's update call returns.
    const row = await pollUntil(
      () => h.cardRow(created.id),
      (card) => card?.shownVersion === card?.version,
      { what: 'the cancelled card recorded as shown' },
    );
    expect(row?.messageId).toBe(message.ts);
    expect(row?.shownVersion).toBe(row?.version);
  });
});
