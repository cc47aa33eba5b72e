import { describe, expect, it } from 'vitest';
import type { ApprovalRepresentation } from '../../approvals/view/approval.ts';
import { buildCardView } from '../card-view.ts';
import { renderSlackCard } from '../slack/cards.ts';
import { renderTeamsCard } from './cards.ts';

const ID = '0b6f3c1e-8d2a-4f7b-9c3e-5a1d2e3f4a5b';

function approval(overrides: Partial<ApprovalRepresentation> = {}): ApprovalRepresentation {
  return {
    id: ID,
    status: 'pending',
    action: 'db.export',
    title: 'Export [users](https://evil.example) **now**',
    reason: 'Quarterly churn analysis',
    requester: { email: 'alice@example.com', name: 'Alice' },
    agent: { name: 'analytics-agent', model: 'gpt-x', runId: 'run-42' },
    context: { table: 'users', token: '••••c123' },
    payloadDigest: 'sha256:' + 'ab'.repeat(32),
    approvers: ['bob@example.com'],
    quorum: 2,
    policyRule: 'data-exports',
    channel: 'teams:19:sec@thread.tacv2',
    channels: ['teams:19:sec@thread.tacv2'],
    callbackUrl: null,
    decisions: [],
    cards: [],
    createdAt: '2026-11-21T10:00:00.000Z',
    expiresAt: '2026-11-21T11:00:00.000Z',
    decidedAt: null,
    ...overrides,
  };
}

function find(node: unknown, match: (n: Record<string, unknown>) => boolean): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (match(record)) found.push(record);
      Object.values(record).forEach(visit);
    }
  };
  visit(node);
  return found;
}

describe('the Teams approval card', () => {
  it('is an Adaptive Card 1.5 with approve behind a confirmation step and deny with a reason input', () => {
    const card = renderTeamsCard(buildCardView(approval(), { denyReasonRequired: true }));
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    const executes = find(card, (n) => n['type'] === 'Action.Execute');
    expect(executes.map((e) => [e['verb'], e['data']])).toEqual([
      ['approve', { requestId: ID }],
      ['deny', { requestId: ID }],
    ]);
    const steps = find(card, (n) => n['type'] === 'Action.ShowCard').map((s) => s['title']);
    expect(steps).toEqual(['Approve', 'Deny']);
    expect(find(card, (n) => n['type'] === 'Input.Text')[0]).toMatchObject({
      id: 'denyReason',
      isRequired: true,
    });
    expect(JSON.stringify(card)).toContain('0 of 2 approvals');
  });

  it('offers the grant windows of the rule as "Approve for N min" in the approve step, as Slack does', () => {
    const view = buildCardView(approval(), { denyReasonRequired: false, grantUpToSeconds: 30 * 60 });
    expect(view.grantChoices).toEqual([15, 30]);
    const card = renderTeamsCard(view);
    const [approveStep] = find(card, (n) => n['type'] === 'Action.ShowCard' && n['title'] === 'Approve');
    expect(
      find(approveStep, (n) => n['type'] === 'Action.Execute').map((e) => [e['title'], e['data']]),
    ).toEqual([
      ['Confirm approval', { requestId: ID }],
      ['Approve for 15 min', { requestId: ID, grantMinutes: 15 }],
      ['Approve for 30 min', { requestId: ID, grantMinutes: 30 }],
    ]);
    expect(JSON.stringify(renderSlackCard(view))).toContain('Approve for 30 min');
    const callOnly = renderTeamsCard(buildCardView(approval(), { denyReasonRequired: false }));
    expect(JSON.stringify(callOnly)).not.toContain('Approve for');
  });

  it('Teams and Slack cards both show how the requester was established, in the same words', () => {
    const proven = approval({
      requester: {
        email: 'alice@example.com',
        name: 'Alice',
        proof: {
          kind: 'workload',
          provider: 'github-actions',
          issuer: 'https://token.actions.githubusercontent.com',
          subject: 'repo:org/repo:ref:refs/heads/main',
          login: 'alice',
          repository: 'org/repo',
          runId: '123',
          keyName: 'ci',
        },
      },
    });
    const line = 'proven (github-actions: alice / org/repo / run 123)';
    const view = buildCardView(proven, { denyReasonRequired: false });
    expect(view.requesterProof).toBe(line);
    const teamsRuns = find(renderTeamsCard(view), (n) => n['type'] === 'TextRun').map((r) => r['text']);
    expect(teamsRuns).toEqual(expect.arrayContaining(['Requester proof: ', line]));
    expect(JSON.stringify(renderSlackCard(view))).toContain(`*Requester proof*\\n${line}`);
    const claimed = buildCardView(
      approval({
        requester: { email: 'alice@example.com', name: null, proof: { kind: 'claimed', keyName: 'laptop' } },
      }),
      { denyReasonRequired: false },
    );
    expect(claimed.requesterProof).toBe('claimed by key laptop');
  });

  it('shows requester text only as plain TextRuns, never as markdown TextBlocks', () => {
    const card = renderTeamsCard(buildCardView(approval(), { denyReasonRequired: false }));
    // The one TextBlock is the server's own digest (for its wrap); nothing a requester wrote.
    expect(find(card, (n) => n['type'] === 'TextBlock').map((b) => b['text'])).toEqual([
      `Payload digest sha256:${'ab'.repeat(32)}`,
    ]);
    const runs = find(card, (n) => n['type'] === 'TextRun').map((r) => r['text']);
    expect(runs).toContain('Export [users](https://evil.example) **now**');
  });

  it('wraps the payload digest at the card edge, and keeps a digest of another shape plain text', () => {
    const card = renderTeamsCard(buildCardView(approval(), { denyReasonRequired: false }));
    const [digest] = find(card, (n) => n['type'] === 'TextBlock');
    expect(digest).toMatchObject({ text: `Payload digest sha256:${'ab'.repeat(32)}`, wrap: true });
    const odd = renderTeamsCard(
      buildCardView(approval({ payloadDigest: 'sha256:**[x](https://evil.example)**' }), {
        denyReasonRequired: false,
      }),
    );
    expect(find(odd, (n) => n['type'] === 'TextBlock')).toEqual([]);
    expect(find(odd, (n) => n['type'] === 'TextRun').map((r) => r['text'])).toContain(
      'Payload digest sha256:**[x](https://evil.example)**',
    );
  });

  it('drops the buttons and shows the outcome once decided', () => {
    const decided = approval({
      status: 'denied',
      decidedAt: '2026-11-21T10:05:00.000Z',
      decisions: [
        {
          approver: {
            email: 'bob@example.com',
            platform: 'teams',
            platformUserId: 'aad-bob',
            displayName: 'Bob',
          },
          verdict: 'deny',
          reason: 'not now',
          at: '2026-11-21T10:05:00.000Z',
        },
      ],
    });
    const card = renderTeamsCard(buildCardView(decided, { denyReasonRequired: false }));
    expect(find(card, (n) => n['type'] === 'Action.Execute')).toEqual([]);
    expect(JSON.stringify(card)).toContain('⛔ Denied by Bob (bob@example.com) — not now');
  });

  it('links to the request in the web console on both platforms when the public URL is set', () => {
    const view = buildCardView(approval(), {
      denyReasonRequired: false,
      publicUrl: 'https://cs.example.com/base',
    });
    expect(view.consoleUrl).toBe(`https://cs.example.com/base/requests/${ID}`);
    expect(find(renderTeamsCard(view), (n) => n['type'] === 'Action.OpenUrl')[0]).toMatchObject({
      title: 'Open in Countersign',
      url: `https://cs.example.com/base/requests/${ID}`,
    });
    expect(JSON.stringify(renderSlackCard(view).blocks)).toContain(
      `<https://cs.example.com/base/requests/${ID}|Open in Countersign>`,
    );
    const without = buildCardView(approval(), { denyReasonRequired: false });
    expect(JSON.stringify(renderSlackCard(without).blocks)).not.toContain('Open in Countersign');
  });
});

describe('the Teams card with Universal Actions refresh', () => {
  const view = () => buildCardView(approval(), { denyReasonRequired: false, grantUpToSeconds: null });
  const titles = (card: Record<string, unknown>) =>
    ((card['actions'] ?? []) as { title?: string }[]).map((a) => a.title);

  it('shares the status card with a refresh naming the approvers, and the own-view button while someone is left out', () => {
    const audience = { userIds: ['29:bob'], leftOut: 1 };
    const shared = renderTeamsCard(view(), { audience, viewer: 'shared' });
    expect(shared['refresh']).toEqual({
      action: { type: 'Action.Execute', verb: 'refreshCard', data: { requestId: ID } },
      userIds: ['29:bob'],
    });
    expect(titles(shared)).toEqual(['Approve or deny (approvers)']);
    const everyoneListed = renderTeamsCard(view(), {
      audience: { ...audience, leftOut: 0 },
      viewer: 'shared',
    });
    expect(titles(everyoneListed)).toEqual([]);
    const uncountable = renderTeamsCard(view(), {
      audience: { ...audience, leftOut: null },
      viewer: 'shared',
    });
    expect(titles(uncountable)).toEqual(['Approve or deny (approvers)']);
  });

  it("gives the approver's view Approve and Deny, an onlooker's none", () => {
    const audience = { userIds: ['29:bob'], leftOut: 1 };
    expect(titles(renderTeamsCard(view(), { audience, viewer: 'approver' }))).toEqual(['Approve', 'Deny']);
    const onlooker = renderTeamsCard(view(), { audience, viewer: 'onlooker' });
    expect(titles(onlooker)).toEqual([]);
    expect(JSON.stringify(onlooker)).toContain('Only the eligible approvers can decide this request.');
  });

  it('has no refresh once the request has its verdict', () => {
    const decided = buildCardView(approval({ status: 'approved', decidedAt: '2026-11-21T10:05:00.000Z' }), {
      denyReasonRequired: false,
      grantUpToSeconds: null,
    });
    const card = renderTeamsCard(decided, {
      audience: { userIds: ['29:bob'], leftOut: 0 },
      viewer: 'shared',
    });
    expect(card['refresh']).toBeUndefined();
    expect(titles(card)).toEqual([]);
  });
});

describe('the Teams card of a policy.change request', () => {
  const diffOf = (lines: number) =>
    [
      '--- version 1',
      '+++ proposed',
      ...Array.from({ length: lines }, (_, i) => `+  - name: rule-${i} [x](https://evil.example)`),
    ].join('\n') + '\n';
  const card = (diff: string) =>
    renderTeamsCard(
      buildCardView(
        approval({
          action: 'policy.change',
          context: { proposal: 'p-1', baseVersion: 2, digest: 'sha256:ab', diff },
        }),
        { denyReasonRequired: false },
      ),
    );
  const monospace = (c: unknown) => find(c, (n) => n['type'] === 'TextRun' && n['fontType'] === 'Monospace');
  const runTexts = (c: unknown) => find(c, (n) => n['type'] === 'TextRun').map((n) => String(n['text']));

  it('shows the diff as a monospace plain-text run under its heading, not again as a context fact', () => {
    const rendered = card(diffOf(2));
    const texts = runTexts(rendered);
    expect(texts).toContain('Proposed policy change (diff from version 2)');
    expect(monospace(rendered).map((r) => r['text'])).toEqual([
      '--- version 1\n+++ proposed\n+  - name: rule-0 [x](https://evil.example)\n+  - name: rule-1 [x](https://evil.example)',
    ]);
    expect(texts).not.toContain('diff: ');
    expect(texts).toContain('baseVersion: ');
    expect(texts.some((t) => t.includes('more line'))).toBe(false);
  });

  it('says how many lines did not fit', () => {
    const rendered = card(diffOf(1000));
    const [block] = monospace(rendered);
    const shown = String(block?.['text']).split('\n').length;
    expect(shown).toBeGreaterThan(20);
    expect(String(block?.['text']).length).toBeLessThanOrEqual(6000);
    expect(runTexts(rendered)).toContain(`… ${1002 - shown} more lines in the console`);
  });
});

describe('the Teams card of a break-glass use', () => {
  type Review = NonNullable<ApprovalRepresentation['breakGlass']>['review'];
  const card = (review: Review) => {
    const reviewed = review === 'acknowledged' || review === 'flagged';
    return renderTeamsCard(
      buildCardView(
        approval({
          status: 'approved',
          decidedAt: '2026-11-21T10:00:00.000Z',
          breakGlass: {
            reason: 'prod is down',
            reviewers: ['dave@example.com'],
            reviewDueAt: '2026-11-22T10:00:00.000Z',
            review,
            reviewedBy: reviewed ? 'dave@example.com' : null,
            reviewNote: null,
            reviewedAt: reviewed ? '2026-11-21T11:00:00.000Z' : null,
          },
        }),
        { denyReasonRequired: false },
      ),
    );
  };
  const executes = (c: unknown) =>
    find(c, (n) => n['type'] === 'Action.Execute').map((e) => [e['verb'], e['title'], e['data']]);

  it.each(['pending', 'overdue'] as const)('shows Acknowledge and Flag while the review is %s', (review) => {
    expect(executes(card(review))).toEqual([
      ['acknowledge', 'Acknowledge', { requestId: ID }],
      ['flag', 'Flag', { requestId: ID }],
    ]);
  });

  it.each(['acknowledged', 'flagged'] as const)('has no buttons once %s, and says so', (review) => {
    const c = card(review);
    expect(executes(c)).toEqual([]);
    expect(JSON.stringify(c)).toContain(`Review: ${review} by dave@example.com`);
  });

  it('a decided request without break-glass has no review buttons', () => {
    const plain = renderTeamsCard(
      buildCardView(approval({ status: 'approved', decidedAt: '2026-11-21T10:05:00.000Z' }), {
        denyReasonRequired: false,
      }),
    );
    expect(executes(plain)).toEqual([]);
  });
});
