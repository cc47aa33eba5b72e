// What one click costs the database, as upper bounds on the statements sent through the server's
// pool: the decision's own transaction, and the whole click (Slack's request, the decision, the
// card update, the verdict callback and the requester's notice). Speed is measured in the bench;
// this only keeps the count from creeping back up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { countStatements } from '../support/count-statements.ts';
import { pollUntil } from '../support/poll.ts';
import {
  APPROVE,
  TEAM_POLICY_YAML,
  hasButtons,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';
import {
  approver,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

/**
 * Statements of recordDecision's transaction on a request without callback or chat card: BEGIN sent
 * with the row lock, the chain record and the decider's directory presence; the decision; the
 * verdict with the cards' bump; the request as it now stands sent with the chain append and COMMIT.
 * 9 before these were sent together, 13 when the request was read again after.
 */
const DECISION_MAX = 4;
/**
 * Every statement one Slack click leads to on the server's pool, until the requester is notified:
 * the door's card look-up, the decision's 4 and its 3 job sends, the callback's read and record,
 * the notice's lock with its read and its append with COMMIT, and the flush's lock, card with its
 * request, shown card, next look, last look and unlock: 18 (31 before, about 50 when the flush, the
 * callback and the decision each read the request through Prisma).
 */
const CLICK_MAX = 18;

const show = (texts: string[]) => texts.map((text) => text.replace(/\s+/g, ' ').slice(0, 90)).join('\n');

describe('statements per decision', () => {
  let m: MigratedDatabase;
  beforeAll(async () => {
    m = await openMigratedDatabase();
  });
  afterAll(async () => {
    await m?.close();
  });

  it(`records an approving decision in at most ${DECISION_MAX} statements, reads included`, async () => {
    const deps = testDeps(m.db, {
      policy: policyFromYaml('rules:\n  - { name: ops, actions: ["*"], approvers: [bob@example.com] }\n'),
    });
    const request = await createTestRequest(deps, { action: 'db.export' });
    const counter = countStatements(m.db.pool);
    counter.start();
    const result = await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
    const texts = counter.stop();
    expect(result.verdict).toBe('approved');
    expect(result.request.status).toBe('approved');
    expect(result.request.decisions.map((d) => d.approverEmail)).toEqual(['bob@example.com']);
    expect(texts.length, show(texts)).toBeGreaterThan(0);
    expect(texts.length, show(texts)).toBeLessThanOrEqual(DECISION_MAX);
  });
});

describe('statements per Slack click', () => {
  let h: SlackHarness;
  let receiver: CallbackReceiver;
  beforeAll(async () => {
    receiver = await startCallbackReceiver({ secret: 'unused' });
    h = await startSlackHarness({
      policyYaml: TEAM_POLICY_YAML,
      // No expiry sweep inside the measured click.
      env: { COUNTERSIGN_CALLBACK_ALLOW: '127.0.0.1', COUNTERSIGN_EXPIRY_SWEEP_MS: '600000' },
    });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it(`costs at most ${CLICK_MAX} statements from the click to the requester's notice`, async () => {
    const created = await h.create({
      action: 'db.export',
      title: 'Export',
      callbackUrl: receiver.urlFor('/cb'),
    });
    const card = await h.waitForCard(created.id);
    const counter = countStatements(h.t.server.db.pool);
    // The posting flush has finished once the channel has nothing left to show.
    await pollUntil(
      () => h.cardRow(created.id),
      (row) => row?.shownVersion === row?.version,
      { what: 'card shown' },
    );
    counter.start();
    expect((await h.click('U0BOB', card, APPROVE)).status).toBe(200);
    await h.waitForMessage(card.ts, (m) => !hasButtons(m), 'the decided card');
    await pollUntil(
      () => receiver.received().filter((r) => JSON.stringify(r.body).includes(created.id)).length,
      (n) => n > 0,
      { what: 'the verdict callback' },
    );
    await pollUntil(
      () => h.audit(created.id),
      (events) => events.some((e) => e.type === 'requester.notified'),
      {
        what: "the requester's notice",
      },
    );
    // The flush's last look (and the callback's record) finish after what the test waits on.
    await pollUntil(
      () => h.cardRow(created.id),
      (row) => row?.shownVersion === row?.version,
      { what: 'card shown' },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const texts = counter.stop();
    expect(texts.length, show(texts)).toBeLessThanOrEqual(CLICK_MAX);
  });
});
