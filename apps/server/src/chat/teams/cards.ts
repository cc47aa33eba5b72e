// Adaptive Cards 1.5 for Teams, rendered from the platform-neutral card view: the approval card
// with Action.Execute verbs `approve` (behind a confirmation step, with "Approve for N min" where
// the rule allows grants) and `deny` (with a reason input), `acknowledge` and `flag` on a
// break-glass card under review, and the report summary. Text a requester or agent supplied goes into TextRuns, which
// Teams shows as plain text (no markdown, no links), so it stays inert; the only TextBlock is the
// server's own payload digest, for its `wrap`.
import { TEXT_LIMITS } from '../../approvals/text-limits.ts';
import {
  deciderPlain,
  buttonsHint,
  fitLines,
  moreLinesText,
  type CardOutcome,
  type CardView,
} from '../card-view.ts';
import type { RefreshAudience } from './refresh-audience.ts';

export const APPROVE_VERB = 'approve';
export const DENY_VERB = 'deny';
/** A break-glass card's review buttons (only while nobody has acknowledged or flagged it). */
export const ACKNOWLEDGE_VERB = 'acknowledge';
export const FLAG_VERB = 'flag';
/** On an approve action: "approve this tool for this agent for N minutes" (a time-bound grant). */
export const GRANT_MINUTES_FIELD = 'grantMinutes';
/** The Universal Actions refresh: Teams asks for the card one person may see. */
export const REFRESH_VERB = 'refreshCard';
/** The reason input's id; Teams merges the inputs into the Action.Execute data. */
export const DENY_REASON_INPUT = 'denyReason';

const SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
const CONTEXT_LINES_SHOWN = 40;
const DECISIONS_SHOWN = 20;
const VALUE_LIMIT = 300;
const TEXT_LIMIT = 2000;
/** A policy diff's share of the card (Teams refuses cards over about 28 KB). */
const DIFF_BUDGET = 6000;
const DIFF_LINE_LIMIT = 200;

export type AdaptiveCard = Record<string, unknown> & { type: 'AdaptiveCard'; version: '1.5' };
type Element = Record<string, unknown>;

function clip(text: string, limit: number): string {
  const chars = Array.from(text);
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('')}…`;
}

function run(text: string, style: { bold?: boolean; subtle?: boolean } = {}): Element {
  return {
    type: 'TextRun',
    text,
    ...(style.bold ? { weight: 'Bolder' } : {}),
    ...(style.subtle ? { isSubtle: true } : {}),
  };
}

/** One line "Label: value", the value as plain text. */
function fact(label: string, value: string): Element {
  return {
    type: 'RichTextBlock',
    inlines: [run(`${label}: `, { bold: true }), run(clip(value, VALUE_LIMIT))],
  };
}

function plainBlock(
  text: string,
  options: { bold?: boolean; subtle?: boolean; size?: string } = {},
): Element {
  return {
    type: 'RichTextBlock',
    inlines: [{ ...run(clip(text, TEXT_LIMIT), options), ...(options.size ? { size: options.size } : {}) }],
  };
}

/** The server's own digest (`sha256:<hex>`, no markdown possible) in a TextBlock, the one
 * element whose `wrap` lets Teams break the unspaced value at the card's edge instead of
 * running past it. Anything else falls back to plain text. */
const DIGEST_SHAPE = /^[a-z0-9-]+:[0-9a-f]+$/;
function digestBlock(digest: string): Element {
  if (!DIGEST_SHAPE.test(digest)) return plainBlock(`Payload digest ${digest}`, { subtle: true });
  return {
    type: 'TextBlock',
    text: `Payload digest ${digest}`,
    wrap: true,
    isSubtle: true,
    fontType: 'Monospace',
  };
}

/**
 * A policy.change request's diff in a monospace TextRun (plain text, so it stays inert), the lines
 * that do not fit counted on a plain line under it.
 */
function policyDiffBlocks(diff: NonNullable<CardView['policyDiff']>): Element[] {
  const heading = `Proposed policy change${diff.baseVersion === null ? '' : ` (diff from version ${diff.baseVersion})`}`;
  const fitted = fitLines(diff.text, { budget: DIFF_BUDGET, lineLimit: DIFF_LINE_LIMIT });
  const blocks: Element[] = [
    plainBlock(heading, { bold: true }),
    {
      type: 'RichTextBlock',
      inlines: [{ ...run(fitted.lines.join('\n')), fontType: 'Monospace' }],
    },
  ];
  if (fitted.hidden > 0) blocks.push(plainBlock(moreLinesText(fitted.hidden), { subtle: true }));
  return blocks;
}

function when(iso: string): string {
  return iso
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC')
    .replace(/Z$/, ' UTC');
}

function outcomeLine(view: CardView, outcome: CardOutcome): string {
  const named = outcome.deciders.map(deciderPlain).join(', ');
  const by = named
    ? ` by ${named}${outcome.moreDeciders > 0 ? ` and ${outcome.moreDeciders} more` : ''}`
    : '';
  const decided = outcome.decidedAt ? ` (${when(outcome.decidedAt)})` : '';
  switch (outcome.status) {
    case 'approved':
      return `✅ Approved${by}${decided}`;
    case 'denied':
      return `⛔ Denied${by}${outcome.reasons.length > 0 ? ` — ${outcome.reasons.join('; ')}` : ''}${decided}`;
    case 'expired':
      return outcome.hadDecisions
        ? `⌛ Expired with ${view.quorumProgress}${decided}`
        : `⌛ Expired unanswered${decided}`;
    case 'cancelled':
      return `🚫 Cancelled by the requester's client${decided}`;
  }
}

function agentText(agent: NonNullable<CardView['agent']>): string {
  return [agent.name, agent.model, agent.runId ? `run ${agent.runId}` : null].filter(Boolean).join(' · ');
}

/** "Approve for N min" in the approve step: the same verb, the window in `data.grantMinutes`. */
function grantActions(view: CardView): Element[] {
  return view.grantChoices.map((minutes) => ({
    type: 'Action.Execute',
    verb: APPROVE_VERB,
    title: `Approve for ${minutes} min`,
    data: { requestId: view.requestId, [GRANT_MINUTES_FIELD]: minutes },
  }));
}

function grantExplanation(view: CardView): Element[] {
  if (view.grantChoices.length === 0) return [];
  const agent = view.agent ? ` (agent ${view.agent.name})` : '';
  return [
    plainBlock(
      clip(
        `Approve for N min also lets later ${view.action} requests from ${view.requester.email}${agent} ` +
          'pass without asking for that long, each recorded with the grant.',
        300,
      ),
      { subtle: true },
    ),
  ];
}

function approveStep(view: CardView): Element {
  const subject = view.title ? `${view.action} (${view.title})` : view.action;
  return {
    type: 'Action.ShowCard',
    title: 'Approve',
    style: 'positive',
    card: {
      type: 'AdaptiveCard',
      body: [
        plainBlock(
          clip(`You are approving ${subject}. Your name and email are recorded with the verdict.`, 300),
        ),
        ...grantExplanation(view),
      ],
      actions: [
        {
          type: 'Action.Execute',
          verb: APPROVE_VERB,
          title: 'Confirm approval',
          style: 'positive',
          data: { requestId: view.requestId },
        },
        ...grantActions(view),
      ],
    },
  };
}

function denyStep(view: CardView): Element {
  return {
    type: 'Action.ShowCard',
    title: 'Deny',
    style: 'destructive',
    card: {
      type: 'AdaptiveCard',
      body: [
        {
          type: 'Input.Text',
          id: DENY_REASON_INPUT,
          label: view.denyReasonRequired ? 'Reason (required)' : 'Reason',
          isMultiline: true,
          maxLength: TEXT_LIMITS.reason,
          placeholder: 'Why should this not happen?',
          isRequired: view.denyReasonRequired,
          ...(view.denyReasonRequired ? { errorMessage: 'A reason is required to deny this request.' } : {}),
        },
      ],
      actions: [
        {
          type: 'Action.Execute',
          verb: DENY_VERB,
          title: 'Deny',
          style: 'destructive',
          data: { requestId: view.requestId },
        },
      ],
    },
  };
}

/** Acknowledge and Flag on a break-glass card whose review is open. */
function reviewActions(view: CardView): Element[] {
  return [
    {
      type: 'Action.Execute',
      verb: ACKNOWLEDGE_VERB,
      title: 'Acknowledge',
      style: 'positive',
      data: { requestId: view.requestId },
    },
    {
      type: 'Action.Execute',
      verb: FLAG_VERB,
      title: 'Flag',
      style: 'destructive',
      data: { requestId: view.requestId },
    },
  ];
}

/**
 * Who the card is rendered for, once Universal Actions refresh is used: `shared` is the message
 * everyone sees (no Approve/Deny; a refresh clause naming the approvers), `approver` the view an
 * eligible approver gets on refresh, `onlooker` anyone else's (the requester's included).
 */
export interface TeamsCardAudience {
  audience: RefreshAudience;
  viewer: 'shared' | 'approver' | 'onlooker';
}

function refreshClause(view: CardView, audience: RefreshAudience): Element {
  return {
    action: { type: 'Action.Execute', verb: REFRESH_VERB, data: { requestId: view.requestId } },
    userIds: audience.userIds,
  };
}

/** On the shared card when some eligible approver could not be listed: asks for their own view. */
function ownViewStep(view: CardView): Element {
  return {
    type: 'Action.Execute',
    verb: REFRESH_VERB,
    title: 'Approve or deny (approvers)',
    data: { requestId: view.requestId },
  };
}

/**
 * The approval card for a request in any state; the buttons exist only while it is pending, and
 * with `forWhom` only in the approver's view.
 */
export function renderTeamsCard(view: CardView, forWhom?: TeamsCardAudience): AdaptiveCard {
  const pending = view.showButtons;
  const buttons = pending && (forWhom === undefined || forWhom.viewer === 'approver');
  const body: Element[] = [plainBlock(view.heading, { bold: true, size: 'Large' })];
  if (view.breakGlass) {
    body.push(
      plainBlock(`Break-glass (approved at once by the requester): ${view.breakGlass.reason}`, {
        bold: true,
      }),
      plainBlock(view.breakGlass.reviewLine),
    );
  }
  if (view.outcome) body.push(plainBlock(outcomeLine(view, view.outcome), { bold: true }));
  const requester = view.requester.name
    ? `${view.requester.email} (${view.requester.name})`
    : view.requester.email;
  body.push(
    fact('Action', view.action),
    fact('Requester', requester),
    fact('Requester proof', view.requesterProof),
  );
  if (view.agent) body.push(fact('Agent', agentText(view.agent)));
  if (view.policyRule) body.push(fact('Policy rule', view.policyRule));
  body.push(
    fact('Quorum', view.quorumProgress),
    fact(view.showButtons ? 'Expires' : 'Expiry', when(view.expiresAt)),
    fact('Request id', view.requestId),
  );
  if (view.escalatedTo && view.showButtons) {
    body.push(fact('Escalated', `also asked ${view.escalatedTo.join(', ')}`));
  }
  if (view.reason) body.push(plainBlock('Reason', { bold: true }), plainBlock(view.reason));
  if (view.commandLine) {
    body.push(plainBlock('Command (runs only as approved)', { bold: true }), plainBlock(view.commandLine));
  }
  if (view.policyDiff) body.push(...policyDiffBlocks(view.policyDiff));
  if (view.context.length > 0) {
    body.push(plainBlock('Context (secrets masked)', { bold: true }));
    for (const [key, value] of view.context.slice(0, CONTEXT_LINES_SHOWN)) body.push(fact(key, value));
    const hidden = view.context.length - CONTEXT_LINES_SHOWN;
    if (hidden > 0)
      body.push(plainBlock(`… ${hidden} more field${hidden === 1 ? '' : 's'}`, { subtle: true }));
  }
  if (view.decisions.length > 0) {
    body.push(plainBlock('Decisions', { bold: true }));
    for (const d of view.decisions.slice(0, DECISIONS_SHOWN)) {
      const verdict = d.verdict === 'approve' ? '✅ approved' : '⛔ denied';
      const reason = d.reason ? ` — ${d.reason}` : '';
      body.push(plainBlock(`• ${deciderPlain(d.decider)} ${verdict} ${when(d.at)}${reason}`));
    }
    const hidden = view.decisions.length - DECISIONS_SHOWN;
    if (hidden > 0)
      body.push(plainBlock(`… ${hidden} more decision${hidden === 1 ? '' : 's'}`, { subtle: true }));
  }
  const reviewOpen = view.breakGlass?.reviewOpen === true;
  if (reviewOpen)
    body.push(
      plainBlock(
        'A reviewer of the rule acknowledges or flags this use, once; the requester cannot review it. ' +
          'Flag here records no note (flag in the console to add one).',
        { subtle: true },
      ),
    );
  if (buttons) body.push(plainBlock(buttonsHint(view), { subtle: true }));
  if (pending && forWhom?.viewer === 'onlooker')
    body.push(plainBlock('Only the eligible approvers can decide this request.', { subtle: true }));
  body.push(digestBlock(view.payloadDigest));

  const actions: Element[] = [
    ...(reviewOpen ? reviewActions(view) : []),
    ...(buttons ? [approveStep(view), denyStep(view)] : []),
  ];
  const leftOut = forWhom?.audience.leftOut;
  if (pending && forWhom?.viewer === 'shared' && (leftOut === null || (leftOut ?? 0) > 0))
    actions.push(ownViewStep(view));
  if (view.consoleUrl)
    actions.push({ type: 'Action.OpenUrl', title: 'Open in Countersign', url: view.consoleUrl });
  return {
    type: 'AdaptiveCard',
    $schema: SCHEMA,
    version: '1.5',
    fallbackText: view.summary,
    ...(pending && forWhom ? { refresh: refreshClause(view, forWhom.audience) } : {}),
    body,
    ...(actions.length > 0 ? { actions } : {}),
  };
}
