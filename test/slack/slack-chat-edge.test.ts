// The chat edge through Slack: an unexpected failure while recording a click is told to the
// clicker and logged with its stack; a card Slack refuses for good shows as failed in the API and
// /metrics; clicks from another workspace never count; the deny modal is checked like a button.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import {
  APPROVE,
  CHANNEL,
  DENY_MODAL,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  TEAM_POLICY_YAML,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';
import { pollUntil } from '../support/poll.ts';

describe('the Slack chat edge', () => {
  let h: SlackHarness;
  let logs: CapturedLog;
  beforeAll(async () => {
    logs = capturingLogger('info');
    h = await startSlackHarness({
      policyYaml: TEAM_POLICY_YAML,
      log: logs.log,
      env: { SLACK_ALLOWED_TEAMS: 'T0PARTNER' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('tells the clicker when recording fails unexpectedly, logs message and stack, records nothing', async () => {
    const created = await h.create({ action: 'db.export' });
    const card = await h.waitForCard(created.id);
    // A real database failure inside the decision's transaction, not an AppError.
    await withPgClient(h.t.database.url, async (pg) => {
      await pg.query(`CREATE FUNCTION test_refuse_decisions() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'disk on fire (test)'; END $$`);
      await pg.query(`CREATE TRIGGER test_refuse_decisions BEFORE INSERT ON decisions
        FOR EACH ROW EXECUTE FUNCTION test_refuse_decisions()`);
    });
    try {
      const before = h.fake.ephemerals().length;
      expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
      const [told] = (await h.fake.waitForEphemerals(before + 1)).slice(before);
      expect(told).toMatchObject({ channel: CHANNEL, user: 'U0BOB' });
      expect(told?.text).toContain('your decision was not recorded');
      const line = await pollUntil(
        () => logs.lines().find((l) => l['msg'] === 'chat approve click failed' && l['level'] === 50),
        (found) => found !== undefined,
      );
      const err = line?.['err'] as { message: string; stack: string };
      expect(err.message).toContain('disk on fire (test)');
      expect(err.stack).toMatch(/\n\s+at /);
      expect(line).toMatchObject({ platform: 'slack', userId: 'U0BOB' });
      expect(await h.decisions(created.id)).toEqual([]);
      expect((await h.get(created.id)).status).toBe('pending');
      expect((await h.audit(created.id)).map((e) => e.type)).toEqual(['request.created']);
    } finally {
      await withPgClient(h.t.database.url, async (pg) => {
        await pg.query('DROP TRIGGER test_refuse_decisions ON decisions');
      });
    }
  });

  it('shows a card Slack refuses for good as failed in the API and counts it in /metrics', async () => {
    h.fake.failNext('chat.postMessage', { error: 'not_in_channel' });
    const created = await h.create({ action: 'db.export', title: 'nobody will see this' });
    const read = await pollUntil(
      () => h.get(created.id),
      (approval) => approval.cards[0]?.status === 'failed',
    );
    expect(read.cards).toEqual([
      { channel: `slack:${CHANNEL}`, status: 'failed', error: 'not_in_channel', postedAt: null },
    ]);
    const metrics = await fetch(`${h.t.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/^countersign_chat_cards\{platform="slack",status="failed"\} 1$/m);
    expect(metrics).toMatch(/^countersign_chat_cards\{platform="teams",status="failed"\} 0$/m);
    const line = logs.lines().find((l) => l['msg'] === 'chat platform refused the card');
    expect(line).toMatchObject({ requestId: created.id, platformError: 'not_in_channel', level: 50 });

    const posted = await h.create({ action: 'db.export' });
    await h.waitForCard(posted.id);
    expect((await h.get(posted.id)).cards).toEqual([
      { channel: `slack:${CHANNEL}`, status: 'posted', error: null, postedAt: expect.any(String) as string },
    ]);
  });

  it('refuses a click from another workspace, even when the email is an approver, and audits it', async () => {
    const created = await h.create({ action: 'db.export' });
    const card = await h.waitForCard(created.id);
    const before = h.fake.ephemerals().length;
    expect((await h.click('U0BOB', card, APPROVE, { teamId: 'T0STRANGER' })).status).toBe(200);
    const [told] = (await h.fake.waitForEphemerals(before + 1)).slice(before);
    expect(told?.text).toContain('belongs to another organisation');
    const [refusal] = await h.waitForRefusals(created.id, 1);
    expect(refusal).toMatchObject({ actor: 'bob@example.com', payload: { reason: 'foreign_tenant' } });
    expect(await h.decisions(created.id)).toEqual([]);
    expect((await h.get(created.id)).status).toBe('pending');
  });

  it('counts a click from a workspace listed in SLACK_ALLOWED_TEAMS', async () => {
    const created = await h.create({ action: 'db.export' });
    const card = await h.waitForCard(created.id);
    expect((await h.click('U0BOB', card, APPROVE, { teamId: 'T0PARTNER' })).status).toBe(200);
    await h.waitForStatus(created.id, 'approved');
  });

  it('refuses a deny submission whose metadata names a request without that card', async () => {
    const target = await h.create({ action: 'db.export', channel: undefined, title: 'target' });
    const other = await h.create({ action: 'db.export', title: 'other' });
    const otherCard = await h.waitForCard(other.id);
    await h.waitForCard(target.id);
    const before = h.fake.ephemerals().length;
    const submission = h.driver.viewSubmission({
      userId: 'U0BOB',
      callbackId: DENY_MODAL,
      // The other request's message under the target's id: no such card.
      privateMetadata: JSON.stringify({ requestId: target.id, channelId: CHANNEL, messageTs: otherCard.ts }),
      values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'forged' } },
    });
    expect((await h.driver.send(submission)).status).toBe(200);
    const [told] = (await h.fake.waitForEphemerals(before + 1)).slice(before);
    expect(told?.text).toBe('This button does not belong to this message, so the click was ignored.');
    expect(await h.decisions(target.id)).toEqual([]);
    expect((await h.get(target.id)).status).toBe('pending');
  });
});
