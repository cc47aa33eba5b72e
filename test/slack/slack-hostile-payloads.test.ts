// Validly signed Slack payloads that are not what Countersign expects: a block_actions or
// view_submission without its user or container is a 400 logged at warn (never a 500), and a
// signed payload no handler matches is acknowledged at once and logged at debug (never a 3 s wait,
// a 404 or an error line). Nothing is recorded either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import {
  APPROVE,
  CHANNEL,
  DENY_MODAL,
  TEAM_POLICY_YAML,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

const form = (payload: unknown) => ({
  body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
  contentType: 'application/x-www-form-urlencoded',
  payload,
});

describe('hostile but signed Slack payloads', () => {
  let h: SlackHarness;
  let logs: CapturedLog;
  beforeAll(async () => {
    logs = capturingLogger('debug');
    h = await startSlackHarness({ policyYaml: TEAM_POLICY_YAML, log: logs.log });
  });
  afterAll(async () => {
    await h?.close();
  });

  const errorLines = () => logs.lines().filter((l) => typeof l['level'] === 'number' && l['level'] >= 50);

  it('answers a signed block_actions without user, or without container, with 400 logged at warn', async () => {
    const created = await h.create({ action: 'db.export', title: 'Export invoices' });
    const card = await h.waitForCard(created.id);
    const click = h.driver.blockAction({
      userId: 'U0BOB',
      channelId: CHANNEL,
      messageTs: card.ts,
      actionId: APPROVE,
      message: card,
    }).payload;
    const errorsBefore = errorLines().length;
    for (const payload of [
      { ...click, user: undefined },
      { ...click, user: { name: 'no id' } },
      { ...click, container: undefined },
    ]) {
      const answer = await h.driver.send(form(payload));
      expect(answer.status, answer.text).toBe(400);
    }
    expect(await h.decisions(created.id)).toEqual([]);
    expect(errorLines().slice(errorsBefore)).toEqual([]);
    const warned = logs
      .lines()
      .filter((l) => l['msg'] === 'Slack payload without its user or container refused');
    expect(warned.length).toBe(3);
    expect(warned.every((l) => l['level'] === 40)).toBe(true);
  });

  it('answers a signed view_submission without user with 400 logged at warn', async () => {
    const submission = h.driver.viewSubmission({
      userId: 'U0BOB',
      callbackId: DENY_MODAL,
      privateMetadata: '{}',
      values: {},
    }).payload;
    const errorsBefore = errorLines().length;
    const answer = await h.driver.send(form({ ...submission, user: undefined }));
    expect(answer.status, answer.text).toBe(400);
    expect(errorLines().slice(errorsBefore)).toEqual([]);
  });

  it('acknowledges a signed payload no handler matches at once, logged at debug', async () => {
    const errorsBefore = errorLines().length;
    const unmatched = [
      form({
        type: 'block_actions',
        user: { id: 'U0BOB' },
        actions: [{ action_id: 'something_else', block_id: 'x' }],
        container: { type: 'message' },
        team: { id: 'T0ACME' },
      }),
      form({
        type: 'shortcut',
        callback_id: 'nobody_listens',
        user: { id: 'U0BOB' },
        team: { id: 'T0ACME' },
        trigger_id: '1',
      }),
    ];
    for (const body of unmatched) {
      const started = performance.now();
      const answer = await h.driver.send(body);
      const took = performance.now() - started;
      expect(answer.status, answer.text).toBe(200);
      // Bolt's unhandled-request timeout is 3 s; an answer well before it was not a timeout.
      expect(took).toBeLessThan(2500);
    }
    expect(errorLines().slice(errorsBefore)).toEqual([]);
    const debug = logs.lines().filter((l) => l['msg'] === 'Slack payload no handler matches: acknowledged');
    expect(debug.length).toBe(2);
    expect(debug.every((l) => l['level'] === 20)).toBe(true);
  });
});
