import type { KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApprovalRepresentation } from '../../approvals/view/approval.ts';
import {
  ACKNOWLEDGE_ACTION_ID,
  APPROVE_ACTION_ID,
  APPROVE_ACTION_PATTERN,
  DENY_ACTION_ID,
  DENY_MODAL_CALLBACK_ID,
  DENY_REASON_ACTION_ID,
  DENY_REASON_BLOCK_ID,
  FLAG_ACTION_ID,
  cardBlockId,
  parseCardBlockId,
  renderApprovalCard,
  renderDenyModal,
  grantMinutesOf,
} from './cards.ts';

const ID = '0b6f3c1e-8d2a-4f7b-9c3e-5a1d2e3f4a5b';

function makeApproval(overrides: Partial<ApprovalRepresentation> = {}): ApprovalRepresentation {
  return {
    id: ID,
    status: 'pending',
    action: 'db.export',
    title: 'Export users to analytics',
    reason: 'Quarterly churn analysis',
    requester: { email: 'alice@example.com', name: 'Alice Example' },
    agent: { name: 'analytics-agent', model: 'gpt-x', runId: 'run-42' },
    context: { table: 'users', token: '••••c123' },
    payloadDigest: 'sha256:' + 'ab'.repeat(32),
    approvers: ['bob@example.com', 'carol@example.com'],
    quorum: 2,
    policyRule: 'data-exports',
    channel: 'slack:C0DATA',
    channels: ['slack:C0DATA'],
    callbackUrl: null,
    decisions: [],
    cards: [],
    createdAt: '2026-11-21T10:00:00.000Z',
    expiresAt: '2026-11-21T11:00:00.000Z',
    decidedAt: null,
    ...overrides,
  };
}

type DecisionInput = ApprovalRepresentation['decisions'][number];

function decision(
  email: string,
  verdict: 'approve' | 'deny',
  reason: string | null,
  at = '2026-11-21T10:05:00.000Z',
  displayName: string | null = null,
): DecisionInput {
  return {
    approver: { email, platform: 'slack', platformUserId: 'U0BOB', displayName },
    verdict,
    reason,
    at,
  };
}

// Loose structural checks: the shapes the handlers and Slack rely on, nothing more.
const textObject = z.looseObject({ type: z.enum(['plain_text', 'mrkdwn']), text: z.string().min(1) });
const buttonSchema = z.looseObject({
  type: z.literal('button'),
  action_id: z.string(),
  value: z.string(),
  style: z.enum(['primary', 'danger']),
  text: textObject,
});
const blockSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('header'), text: textObject.extend({ type: z.literal('plain_text') }) }),
  z.looseObject({
    type: z.literal('section'),
    text: textObject.optional(),
    fields: z.array(textObject).max(10).optional(),
  }),
  z.looseObject({
    type: z.literal('actions'),
    block_id: z.string().max(255),
    elements: z.array(buttonSchema),
  }),
  z.looseObject({ type: z.literal('context'), elements: z.array(textObject).min(1) }),
]);
const cardSchema = z.object({ text: z.string().min(1), blocks: z.array(blockSchema).min(1).max(50) });

function render(overrides: Partial<ApprovalRepresentation> = {}, denyReasonRequired = false) {
  const card = renderApprovalCard(makeApproval(overrides), { denyReasonRequired });
  cardSchema.parse(card);
  return card;
}

/** Every text object in the blocks, in order. */
function texts(blocks: KnownBlock[]): { type: string; text: string }[] {
  const out: { type: string; text: string }[] = [];
  for (const block of blocks) {
    if (block.type === 'header') out.push(block.text);
    if (block.type === 'section') {
      if (block.text) out.push(block.text);
      for (const f of block.fields ?? []) out.push(f);
    }
    if (block.type === 'context') {
      for (const e of block.elements) if ('text' in e && typeof e.text === 'string') out.push(e);
    }
  }
  return out;
}

function allText(blocks: KnownBlock[]): string {
  return texts(blocks)
    .map((t) => t.text)
    .join('\n');
}

function sectionStartingWith(blocks: KnownBlock[], heading: string): string {
  const found = texts(blocks).find((t) => t.text.startsWith(heading));
  if (!found) throw new Error(`no text starting with ${heading}`);
  return found.text;
}

function actionsBlocks(blocks: KnownBlock[]) {
  return blocks.filter((b) => b.type === 'actions');
}

describe('renderApprovalCard: pending', () => {
  it('has Approve (with a confirm dialog) and Deny, both carrying the request id', () => {
    const { blocks } = render();
    const actions = actionsBlocks(blocks);
    expect(actions).toHaveLength(1);
    const [block] = actions;
    expect(block?.block_id).toBe(cardBlockId(ID));
    expect(block?.block_id).toBe(`countersign_actions:${ID}`);
    const buttons = z.array(buttonSchema).length(2).parse(block?.elements);
    const [approve, deny] = buttons;
    expect(approve).toMatchObject({
      action_id: APPROVE_ACTION_ID,
      style: 'primary',
      value: ID,
      text: { text: 'Approve' },
    });
    expect(deny).toMatchObject({
      action_id: DENY_ACTION_ID,
      style: 'danger',
      value: ID,
      text: { text: 'Deny' },
    });
    const confirm = z
      .object({
        title: textObject,
        text: textObject,
        confirm: textObject,
        deny: textObject,
      })
      .parse(approve?.['confirm']);
    expect(confirm.text.text).toContain('db.export');
    expect(confirm.confirm.text).toBe('Approve');
    expect(confirm.deny.text).toBe('Cancel');
    expect(deny?.['confirm']).toBeUndefined();
  });

  it('shows title, action, requester, agent, reason, policy rule and request id', () => {
    const { blocks, text } = render();
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: 'Export users to analytics' } });
    const all = allText(blocks);
    expect(all).toContain('`db.export`');
    expect(all).toContain('alice@example.com (Alice Example)');
    expect(all).toContain('analytics-agent · gpt-x · run `run-42`');
    expect(all).toContain('Quarterly churn analysis');
    expect(all).toContain('`data-exports`');
    expect(all).toContain('`' + ID + '`');
    expect(text).toContain('Export users to analytics');
    expect(text).toContain('alice@example.com');
  });

  it('falls back to the action as the header when there is no title', () => {
    const { blocks } = render({ title: null });
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: 'db.export' } });
  });

  it('keeps a 300-character title within the header limit', () => {
    const { blocks } = render({ title: 'T'.repeat(300) });
    const header = texts(blocks)[0];
    expect(header?.text.length).toBeLessThanOrEqual(150);
    expect(header?.text.endsWith('…')).toBe(true);
  });

  it('shows quorum progress, counting approvals and denials', () => {
    expect(allText(render().blocks)).toContain('0 of 2 approvals');
    const one = render({ decisions: [decision('bob@example.com', 'approve', null)] });
    expect(allText(one.blocks)).toContain('1 of 2 approvals');
    expect(one.text).toContain('1 of 2 approvals');
    const withDenial = render({
      decisions: [decision('bob@example.com', 'approve', null), decision('carol@example.com', 'deny', 'no')],
      quorum: 3,
    });
    expect(allText(withDenial.blocks)).toContain('1 of 3 approvals, 1 denial');
    expect(allText(render({ quorum: 1 }).blocks)).toContain('0 of 1 approval');
  });

  it('shows the expiry as a Slack date token with the ISO time as fallback', () => {
    const all = allText(render().blocks);
    const unix = Date.parse('2026-11-21T11:00:00.000Z') / 1000;
    expect(all).toContain(`<!date^${unix}^{date_short_pretty} at {time}|2026-11-21T11:00:00.000Z>`);
  });

  it('lists decisions so far with who, when, verdict and reason, and keeps the buttons', () => {
    const { blocks } = render({
      decisions: [
        decision('bob@example.com', 'approve', 'looks fine', '2026-11-21T10:05:00.000Z', 'Bob Builder'),
      ],
    });
    const decisions = sectionStartingWith(blocks, '*Decisions*');
    const unix = Date.parse('2026-11-21T10:05:00.000Z') / 1000;
    expect(decisions).toContain('Bob Builder (bob@example.com)');
    expect(decisions).toContain('approved');
    expect(decisions).toContain(`<!date^${unix}^`);
    expect(decisions).toContain('looks fine');
    expect(actionsBlocks(blocks)).toHaveLength(1);
  });

  it('says whether a deny reason is required', () => {
    expect(allText(render({}, true).blocks)).toContain('required by policy');
    expect(allText(render({}, false).blocks)).toContain('optional reason');
  });
});

describe('renderApprovalCard: decided', () => {
  const decidedAt = '2026-11-21T10:06:00.000Z';

  it('approved: no buttons, the outcome and who approved with their reasons', () => {
    const { blocks, text } = render({
      status: 'approved',
      decidedAt,
      receipt: 'eyJ.x.y',
      decisions: [
        decision('bob@example.com', 'approve', 'ship it', '2026-11-21T10:05:00.000Z', 'Bob'),
        decision('carol@example.com', 'approve', null, '2026-11-21T10:06:00.000Z'),
      ],
    });
    expect(actionsBlocks(blocks)).toHaveLength(0);
    const outcome = texts(blocks)[1]?.text ?? '';
    expect(outcome).toContain('✅ Approved');
    expect(outcome).toContain('Bob (bob@example.com)');
    expect(outcome).toContain('carol@example.com');
    expect(outcome).toContain(`<!date^${Date.parse(decidedAt) / 1000}^`);
    expect(sectionStartingWith(blocks, '*Decisions*')).toContain('ship it');
    expect(allText(blocks)).toContain('2 of 2 approvals');
    expect(text).toContain('Approved');
    expect(text).toContain('bob@example.com');
  });

  it('denied: no buttons, the outcome names the denier and the reason', () => {
    const { blocks, text } = render({
      status: 'denied',
      decidedAt,
      decisions: [decision('bob@example.com', 'deny', 'too risky before the release', undefined, 'Bob')],
    });
    expect(actionsBlocks(blocks)).toHaveLength(0);
    const outcome = texts(blocks)[1]?.text ?? '';
    expect(outcome).toContain('⛔ Denied');
    expect(outcome).toContain('Bob (bob@example.com)');
    expect(outcome).toContain('— too risky before the release');
    expect(text).toContain('Denied');
    expect(text).toContain('too risky before the release');
  });

  it('expired: no buttons and "Expired unanswered"', () => {
    const { blocks, text } = render({ status: 'expired', decidedAt: '2026-11-21T11:00:00.000Z' });
    expect(actionsBlocks(blocks)).toHaveLength(0);
    expect(texts(blocks)[1]?.text).toContain('⌛ Expired unanswered');
    expect(text).toContain('Expired unanswered');
  });

  it('expired with some approvals says how far it got', () => {
    const { blocks } = render({
      status: 'expired',
      decidedAt: '2026-11-21T11:00:00.000Z',
      decisions: [decision('bob@example.com', 'approve', null)],
    });
    expect(texts(blocks)[1]?.text).toContain('⌛ Expired* with 1 of 2 approvals');
    expect(sectionStartingWith(blocks, '*Decisions*')).toContain('bob@example.com');
  });

  it('cancelled: no buttons and says the requester cancelled', () => {
    const { blocks, text } = render({ status: 'cancelled', decidedAt });
    expect(actionsBlocks(blocks)).toHaveLength(0);
    expect(texts(blocks)[1]?.text).toContain("🚫 Cancelled by the requester's client");
    expect(text).toContain('Cancelled');
  });

  it('auto-approval by policy names the rule', () => {
    const { blocks } = render({
      status: 'approved',
      decidedAt,
      quorum: 1,
      decisions: [
        {
          approver: {
            email: 'policy:read-only',
            platform: 'policy',
            platformUserId: null,
            displayName: null,
          },
          verdict: 'approve',
          reason: null,
          at: decidedAt,
        },
      ],
    });
    expect(texts(blocks)[1]?.text).toContain('✅ Approved* by policy rule `read-only`');
  });
});

describe('renderApprovalCard: context', () => {
  it('shows a nested masked context as dotted keys, with masked values as stored', () => {
    const { blocks } = render({
      context: {
        table: 'users',
        db: { host: 'db.internal', credentials: { password: '••••c123' }, port: 5432 },
        columns: ['id', 'email', 'plan'],
        dryRun: false,
        note: null,
        empty: {},
      },
    });
    const context = sectionStartingWith(blocks, '*Context*');
    const lines = context.split('\n');
    expect(lines).toContain('*table*: users');
    expect(lines).toContain('*db.host*: db.internal');
    expect(lines).toContain('*db.credentials.password*: ••••c123');
    expect(lines).toContain('*db.port*: 5432');
    expect(lines).toContain('*columns*: id, email, plan');
    expect(lines).toContain('*dryRun*: false');
    expect(lines).toContain('*note*: null');
    expect(lines).toContain('*empty*: {}');
  });

  it('truncates a 5 000-character value with a clear marker', () => {
    const { blocks } = render({ context: { query: 'x'.repeat(5000), after: 'kept' } });
    const context = sectionStartingWith(blocks, '*Context*');
    const line = context.split('\n').find((l) => l.startsWith('*query*')) ?? '';
    expect(line.endsWith('… (truncated)')).toBe(true);
    expect(line.length).toBeLessThan(250);
    expect(context).toContain('*after*: kept');
  });

  it('keeps many fields under 3000 characters per text and counts the rest', () => {
    const context = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`field${i}`, `${i}:`.padEnd(180, 'v')]),
    );
    const { blocks } = render({ context });
    for (const t of texts(blocks)) expect(t.text.length).toBeLessThan(3000);
    for (const block of blocks) {
      if (block.type === 'section')
        for (const f of block.fields ?? []) expect(f.text.length).toBeLessThan(2000);
    }
    const lines = sectionStartingWith(blocks, '*Context*').split('\n');
    const shown = lines.filter((l) => l.startsWith('*field')).length;
    const more = /^… (\d+) more fields$/.exec(lines.at(-1) ?? '');
    expect(more).not.toBeNull();
    expect(shown).toBeGreaterThan(5);
    expect(shown + Number(more?.[1])).toBe(300);
  });

  it('keeps values full of characters that need escaping within the bound', () => {
    const context = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, '&'.repeat(1000)]));
    const { blocks } = render({
      context,
      reason: '<'.repeat(2000),
      decisions: Array.from({ length: 20 }, (_, i) =>
        decision(`p${i}@example.com`, 'approve', '>'.repeat(2000), undefined, '&'.repeat(200)),
      ),
      quorum: 50,
    });
    for (const t of texts(blocks)) expect(t.text.length).toBeLessThan(3000);
    expect(sectionStartingWith(blocks, '*Decisions*')).toMatch(/… \d+ more decisions$/);
  });

  it('leaves the context section out when the context is empty', () => {
    const { blocks } = render({ context: {} });
    expect(texts(blocks).some((t) => t.text.startsWith('*Context*'))).toBe(false);
  });
});

describe('renderApprovalCard: mrkdwn injection', () => {
  it('escapes &, < and > in everything the requester controls', () => {
    const hostile = '<!channel> <https://evil.example|click> & <@U999>';
    const card = render({
      title: hostile,
      reason: hostile,
      requester: { email: 'alice@example.com', name: hostile },
      agent: { name: hostile, model: hostile, runId: hostile },
      context: { [hostile]: hostile, nested: { list: [hostile] } },
      policyRule: 'data-exports',
      decisions: [decision('bob@example.com', 'approve', hostile, undefined, hostile)],
    });
    const all = allText(card.blocks) + '\n' + card.text + '\n' + JSON.stringify(actionsBlocks(card.blocks));
    expect(all).not.toContain('<!channel>');
    expect(all).not.toContain('<https://evil');
    expect(all).not.toContain('<@U999>');
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).toContain('&lt;https://evil.example|click&gt;');
    expect(all).toContain(' &amp; ');
    // The only Slack control sequences left are the card's own date tokens.
    for (const match of all.matchAll(/<[^>]*>/g)) expect(match[0]).toMatch(/^<!date\^\d+\^/);
  });

  it('escapes the denier and reason in the outcome of a denied card', () => {
    const card = render({
      status: 'denied',
      decidedAt: '2026-11-21T10:06:00.000Z',
      decisions: [
        decision('bob@example.com', 'deny', 'see <!here> & <http://x|y>', undefined, '<!everyone>'),
      ],
    });
    const outcome = texts(card.blocks)[1]?.text ?? '';
    expect(outcome).toContain('&lt;!here&gt; &amp; &lt;http://x|y&gt;');
    expect(outcome).toContain('&lt;!everyone&gt;');
    expect(card.text).not.toMatch(/<!(here|everyone)>/);
  });
});

describe('cardBlockId', () => {
  it('round-trips the request id and rejects other block ids', () => {
    expect(parseCardBlockId(cardBlockId(ID))).toBe(ID);
    expect(parseCardBlockId('something_else')).toBeNull();
  });
});

describe('renderDenyModal', () => {
  const modalSchema = z.looseObject({
    type: z.literal('modal'),
    callback_id: z.literal(DENY_MODAL_CALLBACK_ID),
    private_metadata: z.string(),
    title: textObject,
    submit: textObject,
    close: textObject,
    blocks: z.array(z.looseObject({ type: z.string() })),
  });
  const inputSchema = z.looseObject({
    type: z.literal('input'),
    block_id: z.literal(DENY_REASON_BLOCK_ID),
    optional: z.boolean(),
    element: z.looseObject({
      type: z.literal('plain_text_input'),
      action_id: z.literal(DENY_REASON_ACTION_ID),
      multiline: z.literal(true),
      max_length: z.literal(2000),
    }),
  });

  function modal(reasonRequired: boolean) {
    const view = modalSchema.parse(
      renderDenyModal({ requestId: ID, title: 'Export <users>', reasonRequired, privateMetadata: '{"x":1}' }),
    );
    const input = inputSchema.parse(view.blocks.find((b) => b.type === 'input'));
    return { view, input };
  }

  it('makes the reason optional when the policy does not require one', () => {
    const { view, input } = modal(false);
    expect(input.optional).toBe(true);
    expect(view.submit.text).toBe('Deny');
    expect(view.close.text).toBe('Cancel');
    expect(view.private_metadata).toBe('{"x":1}');
    expect(view.title.text.length).toBeLessThanOrEqual(24);
  });

  it('makes the reason required when the policy requires one', () => {
    const { input } = modal(true);
    expect(input.optional).toBe(false);
  });

  it('escapes the title it shows', () => {
    const { view } = modal(false);
    expect(JSON.stringify(view.blocks)).toContain('Export &lt;users&gt;');
  });
});

describe('renderApprovalCard: a policy.change request', () => {
  const diffOf = (lines: number) =>
    [
      '--- version 1',
      '+++ proposed',
      '@@ -1,3 +1,3 @@',
      ...Array.from({ length: lines }, (_, i) => `+  - name: rule-${i} # <owner> & \`ops\``),
    ].join('\n') + '\n';
  const proposal = (diff: string) => ({
    action: 'policy.change',
    context: { proposal: '11111111-2222-4333-8444-555555555555', baseVersion: 1, digest: 'sha256:ab', diff },
  });

  it('shows the diff as a code block, escaped, and not again among the context fields', () => {
    const { blocks } = render(proposal(diffOf(3)));
    const section = sectionStartingWith(blocks, '*Proposed policy change* (diff from version 1)');
    expect(section).toBe(
      '*Proposed policy change* (diff from version 1)\n```\n--- version 1\n+++ proposed\n@@ -1,3 +1,3 @@\n' +
        [0, 1, 2].map((i) => `+  - name: rule-${i} # &lt;owner&gt; &amp; ˋopsˋ`).join('\n') +
        '\n```',
    );
    expect(section).not.toContain('more line');
    const context = sectionStartingWith(blocks, '*Context*');
    expect(context).toContain('*baseVersion*: 1');
    expect(context).not.toContain('*diff*');
  });

  it('says how many lines did not fit, and stays within the section limit', () => {
    const { blocks } = render(proposal(diffOf(400)));
    const section = sectionStartingWith(blocks, '*Proposed policy change*');
    expect(section.length).toBeLessThan(3000);
    const shown = (section.match(/^\+ {2}- name: rule-\d+/gm) ?? []).length;
    expect(shown).toBeGreaterThan(10);
    expect(section.endsWith(`\n\`\`\`\n… ${400 - shown} more lines in the console`)).toBe(true);
  });

  it('leaves other requests without a diff block', () => {
    expect(allText(render({ context: { diff: 'not a proposal' } }).blocks)).not.toContain(
      'Proposed policy change',
    );
  });
});

describe('the approve action ids', () => {
  it('are one pattern: plain Approve has no window, Approve for N min carries N', () => {
    expect(grantMinutesOf(APPROVE_ACTION_ID)).toBeUndefined();
    expect(grantMinutesOf('countersign_approve_for:15')).toBe(15);
    expect(APPROVE_ACTION_PATTERN.test(APPROVE_ACTION_ID)).toBe(true);
    for (const other of [
      DENY_ACTION_ID,
      'countersign_approve_for:',
      'countersign_approve_for:1234567',
      'countersign_approved',
    ])
      expect(APPROVE_ACTION_PATTERN.test(other)).toBe(false);
  });
});

describe('renderApprovalCard: a break-glass use', () => {
  type Review = NonNullable<ApprovalRepresentation['breakGlass']>['review'];
  const breakGlassUse = (review: Review) =>
    render({
      status: 'approved',
      decidedAt: '2026-11-21T10:00:00.000Z',
      breakGlass: {
        reason: 'prod is down',
        reviewers: ['dave@example.com'],
        reviewDueAt: '2026-11-22T10:00:00.000Z',
        review,
        reviewedBy: review === 'acknowledged' || review === 'flagged' ? 'dave@example.com' : null,
        reviewNote: null,
        reviewedAt: review === 'acknowledged' || review === 'flagged' ? '2026-11-21T11:00:00.000Z' : null,
      },
    });

  it.each(['pending', 'overdue'] as const)(
    'shows Acknowledge and Flag, bound to the card, while the review is %s',
    (review) => {
      const card = breakGlassUse(review);
      const [actions, ...more] = actionsBlocks(card.blocks);
      expect(more).toEqual([]);
      expect(actions).toMatchObject({ block_id: cardBlockId(ID) });
      const buttons = actions?.type === 'actions' ? actions.elements : [];
      expect(
        buttons.map((b) => ('action_id' in b ? [b.action_id, 'value' in b ? b.value : null] : null)),
      ).toEqual([
        [ACKNOWLEDGE_ACTION_ID, ID],
        [FLAG_ACTION_ID, ID],
      ]);
      expect(JSON.stringify(actions)).not.toContain(APPROVE_ACTION_ID);
    },
  );

  it.each(['acknowledged', 'flagged'] as const)('has no buttons once %s, and says so', (review) => {
    const card = breakGlassUse(review);
    expect(actionsBlocks(card.blocks)).toEqual([]);
    expect(allText(card.blocks)).toContain(`Review: ${review} by dave@example.com`);
  });

  it('a request without break-glass has no review buttons', () => {
    expect(JSON.stringify(render().blocks)).not.toContain(ACKNOWLEDGE_ACTION_ID);
    expect(
      actionsBlocks(render({ status: 'approved', decidedAt: '2026-11-21T10:05:00.000Z' }).blocks),
    ).toEqual([]);
  });
});
