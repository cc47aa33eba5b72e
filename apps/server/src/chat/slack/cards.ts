// Block Kit for Slack: the approval card (rendered from the platform-neutral card view) and the
// deny-reason modal. Pure functions, so posting, updates and tests render the same card.
import type { ActionsBlock, Button, KnownBlock, SectionBlock, View } from '@slack/types';
import type { ApprovalRepresentation } from '../../approvals/view/approval.ts';
import {
  buildCardView,
  buttonsHint,
  deciderPlain,
  fitLines,
  moreLinesText,
  type CardOutcome,
  type CardView,
} from '../card-view.ts';
import { TEXT_LIMITS } from '../../approvals/text-limits.ts';

export const APPROVE_ACTION_ID = 'countersign_approve';
/** "Approve this tool for this agent for N minutes": `countersign_approve_for:<minutes>`. */
export const APPROVE_FOR_ACTION_PREFIX = 'countersign_approve_for:';
/** Both approve buttons: plain Approve, and Approve for N minutes (the window in group 1). */
export const APPROVE_ACTION_PATTERN = /^countersign_approve(?:_for:(\d{1,6}))?$/;
export const DENY_ACTION_ID = 'countersign_deny';
/** A break-glass card's review buttons (only while nobody has acknowledged or flagged it). */
export const ACKNOWLEDGE_ACTION_ID = 'countersign_breakglass_acknowledge';
export const FLAG_ACTION_ID = 'countersign_breakglass_flag';
export const DENY_MODAL_CALLBACK_ID = 'countersign_deny_modal';
export const DENY_REASON_BLOCK_ID = 'countersign_deny_reason';
export const DENY_REASON_ACTION_ID = 'countersign_deny_reason_input';

/** The grant window an approve button's action id carries; undefined for plain Approve. */
export function grantMinutesOf(actionId: string): number | undefined {
  const minutes = APPROVE_ACTION_PATTERN.exec(actionId)?.[1];
  return minutes === undefined ? undefined : Number(minutes);
}

const CARD_BLOCK_PREFIX = 'countersign_actions:';

/** Slack rejects a section whose text reaches 3000 characters; stay clearly below. */
const SECTION_TEXT_BUDGET = 2900;
/** Slack's limit for one entry of a section's `fields`. */
const FIELD_TEXT_BUDGET = 1900;
const HEADER_TEXT_LIMIT = 150;
const CONFIRM_TEXT_LIMIT = 300;
const CONTEXT_KEY_LIMIT = 100;
const CONTEXT_VALUE_LIMIT = 200;
const DECISION_REASON_LIMIT = 300;
const DIFF_LINE_LIMIT = 200;
const PERSON_LABEL_LIMIT = 200;
const FALLBACK_TEXT_LIMIT = 1000;
const TRUNCATED = '… (truncated)';

/** The actions block of a request's card; the click handler checks it against the button's value. */
export function cardBlockId(requestId: string): string {
  return CARD_BLOCK_PREFIX + requestId;
}

/** The request id a card's actions block was rendered for, or null for any other block id. */
export function parseCardBlockId(blockId: string): string | null {
  return blockId.startsWith(CARD_BLOCK_PREFIX) ? blockId.slice(CARD_BLOCK_PREFIX.length) : null;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Slack's control characters, so user text can never become a mention, link or date token. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/[&<>]/g, (char) => ESCAPES[char] ?? char);
}

/**
 * Escapes `text` and cuts it so the escaped result, marker included, has at most `limit`
 * characters. Cuts fall between code points, never inside an entity or a surrogate pair.
 */
function escapeClipped(text: string, limit: number, marker = TRUNCATED): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= limit) return escaped;
  let out = '';
  for (const char of text) {
    const piece = ESCAPES[char] ?? char;
    if (out.length + piece.length + marker.length > limit) break;
    out += piece;
  }
  return out.trimEnd() + marker;
}

/** Inline code; a backtick in the text would end the span early, so it becomes a look-alike. */
function code(text: string, limit: number): string {
  return '`' + escapeClipped(text.replace(/`/g, 'ˋ'), limit) + '`';
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ↵ ');
}

/** A Slack date token: shown in the reader's time zone, with the ISO time as its fallback. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return escapeMrkdwn(iso);
  const fallback = new Date(ms).toISOString();
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${fallback}>`;
}

type Decider = CardView['decisions'][number]['decider'];

/** Who decided, as mrkdwn: "*Bob Smith (bob@example.com)*", or the policy rule that auto-approved. */
function deciderLabel(decider: Decider): string {
  if (decider.kind === 'policy') return `policy rule ${code(decider.rule, 100)}`;
  return `*${escapeClipped(oneLine(deciderPlain(decider)), PERSON_LABEL_LIMIT)}*`;
}

function listDeciders(outcome: CardOutcome): string {
  const shown = outcome.deciders.map(deciderLabel).join(', ');
  return outcome.moreDeciders > 0 ? `${shown} and ${outcome.moreDeciders} more` : shown;
}

/** The verdict line of a decided card; null while the request is pending. */
function outcomeText(view: CardView): string | null {
  const { outcome } = view;
  if (!outcome) return null;
  const decidedAt = outcome.decidedAt ? `\nDecided ${slackDate(outcome.decidedAt)}` : '';
  const by = outcome.deciders.length > 0 ? ` by ${listDeciders(outcome)}` : '';
  switch (outcome.status) {
    case 'approved':
      return `*✅ Approved*${by}${decidedAt}`;
    case 'denied': {
      const reasons = outcome.reasons.map((r) => escapeClipped(oneLine(r), DECISION_REASON_LIMIT));
      const because = reasons.length > 0 ? ` — ${reasons.join('; ')}` : '';
      return `*⛔ Denied*${by}${because}${decidedAt}`;
    }
    case 'expired':
      return outcome.hadDecisions
        ? `*⌛ Expired* with ${view.quorumProgress}${decidedAt}`
        : `*⌛ Expired unanswered*${decidedAt}`;
    case 'cancelled':
      return `*🚫 Cancelled by the requester's client*${decidedAt}`;
  }
}

/**
 * Joins `lines` under `heading` while the text stays within the section budget; whatever does
 * not fit is counted on a final "… N more <noun>s" line.
 */
function boundedLines(heading: string, lines: string[], noun: string): string {
  const footerReserve = `\n… ${lines.length} more ${noun}s`.length;
  let text = heading;
  let shown = 0;
  for (const [index, line] of lines.entries()) {
    const isLast = index === lines.length - 1;
    if (text.length + 1 + line.length + (isLast ? 0 : footerReserve) > SECTION_TEXT_BUDGET) break;
    text += '\n' + line;
    shown += 1;
  }
  const hidden = lines.length - shown;
  return hidden > 0 ? `${text}\n… ${hidden} more ${noun}${hidden === 1 ? '' : 's'}` : text;
}

function contextText(pairs: CardView['context']): string | null {
  if (pairs.length === 0) return null;
  const lines = pairs.map(
    ([key, value]) =>
      `*${escapeClipped(oneLine(key), CONTEXT_KEY_LIMIT)}*: ${escapeClipped(oneLine(value), CONTEXT_VALUE_LIMIT)}`,
  );
  return boundedLines('*Context* (secrets masked)', lines, 'field');
}

/**
 * A policy.change request's diff as a code block. Inside it Slack still reads `&`, `<`, `>` (so
 * they are escaped) and a backtick could close it (so it becomes a look-alike); the lines that do
 * not fit are counted on a plain line under the block.
 */
function policyDiffText(diff: NonNullable<CardView['policyDiff']>): string {
  const heading = `*Proposed policy change*${diff.baseVersion === null ? '' : ` (diff from version ${diff.baseVersion})`}`;
  const safe = (line: string) => escapeMrkdwn(line.replace(/`/g, 'ˋ'));
  // Room for the heading, the fences and the "… N more lines" line.
  const budget = SECTION_TEXT_BUDGET - heading.length - 80;
  const fitted = fitLines(diff.text, {
    budget,
    lineLimit: DIFF_LINE_LIMIT,
    measure: (line) => safe(line).length,
  });
  const block = '```\n' + fitted.lines.map(safe).join('\n') + '\n```';
  return `${heading}\n${block}${fitted.hidden > 0 ? `\n${moreLinesText(fitted.hidden)}` : ''}`;
}

function decisionsText(decisions: CardView['decisions']): string | null {
  if (decisions.length === 0) return null;
  const lines = decisions.map((d) => {
    const verdict = d.verdict === 'approve' ? '✅ approved' : '⛔ denied';
    const reason = d.reason ? ` — ${escapeClipped(oneLine(d.reason), DECISION_REASON_LIMIT)}` : '';
    return `• ${deciderLabel(d.decider)} ${verdict} ${slackDate(d.at)}${reason}`;
  });
  return boundedLines('*Decisions*', lines, 'decision');
}

function mrkdwnSection(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: `*${label}*\n${value}` };
}

function agentText(agent: NonNullable<CardView['agent']>): string {
  const parts = [escapeClipped(oneLine(agent.name), 200)];
  if (agent.model) parts.push(escapeClipped(oneLine(agent.model), 200));
  if (agent.runId) parts.push(`run ${code(agent.runId, 200)}`);
  return parts.join(' · ');
}

function actionsBlock(view: CardView): ActionsBlock {
  const subject = view.title ? `${view.action} (${view.title})` : view.action;
  const approve: Button = {
    type: 'button',
    action_id: APPROVE_ACTION_ID,
    text: { type: 'plain_text', text: 'Approve', emoji: true },
    style: 'primary',
    value: view.requestId,
    confirm: {
      title: { type: 'plain_text', text: 'Approve this request?' },
      text: {
        type: 'plain_text',
        text: escapeClipped(
          `You are approving ${subject}. Your name and email are recorded with the verdict.`,
          CONFIRM_TEXT_LIMIT,
          '…',
        ),
      },
      confirm: { type: 'plain_text', text: 'Approve' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'primary',
    },
  };
  const deny: Button = {
    type: 'button',
    action_id: DENY_ACTION_ID,
    text: { type: 'plain_text', text: 'Deny', emoji: true },
    style: 'danger',
    value: view.requestId,
  };
  const windows: Button[] = view.grantChoices.map((minutes) => ({
    type: 'button',
    action_id: `${APPROVE_FOR_ACTION_PREFIX}${minutes}`,
    text: { type: 'plain_text', text: `Approve for ${minutes} min`, emoji: true },
    value: view.requestId,
    confirm: {
      title: { type: 'plain_text', text: `Approve for ${minutes} minutes?` },
      text: {
        type: 'plain_text',
        text: escapeClipped(
          `Later ${view.action} requests from ${view.requester.email}` +
            (view.agent ? ` (agent ${view.agent.name})` : '') +
            ` pass without asking for the next ${minutes} minutes, each recorded with this grant.`,
          CONFIRM_TEXT_LIMIT,
          '…',
        ),
      },
      confirm: { type: 'plain_text', text: `Approve for ${minutes} min` },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  }));
  return {
    type: 'actions',
    block_id: cardBlockId(view.requestId),
    elements: [approve, ...windows, deny],
  };
}

/** Acknowledge and Flag on a break-glass card whose review is open; each click asks to confirm. */
function reviewActionsBlock(view: CardView): ActionsBlock {
  const button = (actionId: string, label: string, text: string, style: 'primary' | 'danger'): Button => ({
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text: label, emoji: true },
    style,
    value: view.requestId,
    confirm: {
      title: { type: 'plain_text', text: `${label} this break-glass use?` },
      text: { type: 'plain_text', text },
      confirm: { type: 'plain_text', text: label },
      deny: { type: 'plain_text', text: 'Cancel' },
      style,
    },
  });
  return {
    type: 'actions',
    block_id: cardBlockId(view.requestId),
    elements: [
      button(
        ACKNOWLEDGE_ACTION_ID,
        'Acknowledge',
        'You are recording that this use was justified. Your name and email are recorded with the review.',
        'primary',
      ),
      button(
        FLAG_ACTION_ID,
        'Flag',
        'You are flagging this use for follow-up, without a note (add one by flagging in the console instead). Your name and email are recorded with the review.',
        'danger',
      ),
    ],
  };
}

export interface RenderApprovalCardOptions {
  /** Whether the request's policy rule requires a reason to deny (shown under the buttons). */
  denyReasonRequired: boolean;
  /** COUNTERSIGN_PUBLIC_URL: the card then links to the request in the web console. */
  publicUrl?: string | undefined;
}

/** The card for a request in any state; the buttons exist only while it is pending. */
export function renderApprovalCard(
  approval: ApprovalRepresentation,
  options: RenderApprovalCardOptions,
): { text: string; blocks: KnownBlock[] } {
  return renderSlackCard(buildCardView(approval, options));
}

/** Block Kit for a card view. */
export function renderSlackCard(view: CardView): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: escapeClipped(oneLine(view.heading), HEADER_TEXT_LIMIT, '…'),
        emoji: true,
      },
    },
  ];

  if (view.breakGlass) {
    const { reason, reviewLine } = view.breakGlass;
    blocks.push(
      mrkdwnSection(
        `*Break-glass* (approved at once by the requester): ${escapeClipped(oneLine(reason), 1000)}\n${escapeClipped(reviewLine, 1000)}`,
      ),
    );
  }
  const outcome = outcomeText(view);
  if (outcome) blocks.push(mrkdwnSection(outcome));

  const requester = view.requester.name
    ? `${view.requester.email} (${view.requester.name})`
    : view.requester.email;
  const fields = [
    field('Action', code(view.action, 300)),
    field('Requester', escapeClipped(oneLine(requester), FIELD_TEXT_BUDGET)),
    field('Requester proof', escapeClipped(oneLine(view.requesterProof), FIELD_TEXT_BUDGET)),
  ];
  if (view.agent) fields.push(field('Agent', agentText(view.agent)));
  if (view.policyRule) fields.push(field('Policy rule', code(view.policyRule, 300)));
  fields.push(
    field('Quorum', view.quorumProgress),
    field(view.showButtons ? 'Expires' : 'Expiry', slackDate(view.expiresAt)),
    field('Request id', code(view.requestId, 100)),
  );
  blocks.push({ type: 'section', fields });
  if (view.escalatedTo && view.showButtons) {
    const to = escapeClipped(view.escalatedTo.join(', '), SECTION_TEXT_BUDGET - 60);
    blocks.push(mrkdwnSection(`:rotating_light: *Escalated*: also asked ${to}`));
  }

  if (view.reason) {
    blocks.push(mrkdwnSection(`*Reason*\n${escapeClipped(view.reason, SECTION_TEXT_BUDGET - 20)}`));
  }
  if (view.commandLine) {
    blocks.push(
      mrkdwnSection(`*Command* (runs only as approved)\n${code(view.commandLine, SECTION_TEXT_BUDGET - 40)}`),
    );
  }
  if (view.policyDiff) blocks.push(mrkdwnSection(policyDiffText(view.policyDiff)));
  const context = contextText(view.context);
  if (context) blocks.push(mrkdwnSection(context));
  const decisions = decisionsText(view.decisions);
  if (decisions) blocks.push(mrkdwnSection(decisions));

  if (view.breakGlass?.reviewOpen) {
    blocks.push(reviewActionsBlock(view));
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: 'A reviewer of the rule acknowledges or flags this use, once; the requester cannot review it.',
        },
      ],
    });
  }
  if (view.showButtons) {
    blocks.push(actionsBlock(view));
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: buttonsHint(view) }] });
  }
  const footer = [`Payload digest ${code(view.payloadDigest, 200)}`];
  if (view.consoleUrl) footer.push(`<${view.consoleUrl}|Open in Countersign>`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: footer.join(' · ') }] });

  return { text: escapeClipped(view.summary, FALLBACK_TEXT_LIMIT, '…'), blocks };
}

export interface RenderDenyModalInput {
  requestId: string;
  title: string;
  reasonRequired: boolean;
  /** Carried back on submit (view.private_metadata): the handler puts the request and message there. */
  privateMetadata: string;
}

/** The modal Deny opens; its submission carries the reason at DENY_REASON_BLOCK_ID/ACTION_ID. */
export function renderDenyModal(input: RenderDenyModalInput): View {
  return {
    type: 'modal',
    callback_id: DENY_MODAL_CALLBACK_ID,
    private_metadata: input.privateMetadata,
    title: { type: 'plain_text', text: 'Deny request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      mrkdwnSection(
        `You are denying *${escapeClipped(oneLine(input.title), 500)}*\nRequest ${code(input.requestId, 100)}`,
      ),
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK_ID,
        optional: !input.reasonRequired,
        label: { type: 'plain_text', text: input.reasonRequired ? 'Reason (required)' : 'Reason' },
        hint: {
          type: 'plain_text',
          text: 'Shown on the card, sent to the requester and kept in the audit trail.',
        },
        element: {
          type: 'plain_text_input',
          action_id: DENY_REASON_ACTION_ID,
          multiline: true,
          max_length: TEXT_LIMITS.reason,
          placeholder: { type: 'plain_text', text: 'Why should this not happen?' },
        },
      },
    ],
  };
}
