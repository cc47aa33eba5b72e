// Block Kit for Slack: the approval card, the deny-reason modal and the clicker's refusal sentences.
// Pure functions of the API representation, so posting, updates and tests render the same card.
import type { ActionsBlock, Button, KnownBlock, SectionBlock, View } from '@slack/types';
import type { ApprovalRepresentation } from '../../http/contracts/approval.ts';

export const APPROVE_ACTION_ID = 'countersign_approve';
export const DENY_ACTION_ID = 'countersign_deny';
export const DENY_MODAL_CALLBACK_ID = 'countersign_deny_modal';
export const DENY_REASON_BLOCK_ID = 'countersign_deny_reason';
export const DENY_REASON_ACTION_ID = 'countersign_deny_reason_input';

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
const PERSON_LABEL_LIMIT = 200;
const FALLBACK_TEXT_LIMIT = 1000;
export const DENY_REASON_MAX_LENGTH = 2000;
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

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

type Decision = ApprovalRepresentation['decisions'][number];

function approvals(approval: ApprovalRepresentation): Decision[] {
  return approval.decisions.filter((d) => d.verdict === 'approve');
}

function denials(approval: ApprovalRepresentation): Decision[] {
  return approval.decisions.filter((d) => d.verdict === 'deny');
}

/** "1 of 2 approvals", plus the denials when there are any. */
export function quorumProgress(approval: ApprovalRepresentation): string {
  const approved = approvals(approval).length;
  const denied = denials(approval).length;
  const progress = `${approved} of ${plural(approval.quorum, 'approval')}`;
  return denied > 0 ? `${progress}, ${plural(denied, 'denial')}` : progress;
}

/** Who decided, as mrkdwn: "Bob Smith (bob@example.com)", or the policy rule that auto-approved. */
function deciderLabel(decision: Decision): string {
  const { approver } = decision;
  if (approver.platform === 'policy') {
    const rule = approver.email.replace(/^policy:/, '');
    return `policy rule ${code(rule, 100)}`;
  }
  const label = approver.displayName ? `${approver.displayName} (${approver.email})` : approver.email;
  return `*${escapeClipped(oneLine(label), PERSON_LABEL_LIMIT)}*`;
}

function deciderPlain(decision: Decision): string {
  const { approver } = decision;
  if (approver.platform === 'policy') return `policy rule ${approver.email.replace(/^policy:/, '')}`;
  return approver.displayName ? `${approver.displayName} (${approver.email})` : approver.email;
}

/** Names the first few deciders and counts the rest, so a quorum of 100 stays readable. */
function listDeciders(decisions: Decision[]): string {
  const shown = decisions.slice(0, 5).map(deciderLabel);
  const rest = decisions.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

/** The verdict line of a decided card; null while the request is pending. */
function outcomeText(approval: ApprovalRepresentation): string | null {
  const decidedAt = approval.decidedAt ? `\nDecided ${slackDate(approval.decidedAt)}` : '';
  switch (approval.status) {
    case 'pending':
      return null;
    case 'approved': {
      const by = approvals(approval);
      return `*✅ Approved*${by.length > 0 ? ` by ${listDeciders(by)}` : ''}${decidedAt}`;
    }
    case 'denied': {
      const by = denials(approval);
      const reasons = by
        .slice(0, 5)
        .filter((d) => d.reason)
        .map((d) => escapeClipped(oneLine(d.reason ?? ''), DECISION_REASON_LIMIT));
      const because = reasons.length > 0 ? ` — ${reasons.join('; ')}` : '';
      return `*⛔ Denied*${by.length > 0 ? ` by ${listDeciders(by)}` : ''}${because}${decidedAt}`;
    }
    case 'expired':
      return approval.decisions.length === 0
        ? `*⌛ Expired unanswered*${decidedAt}`
        : `*⌛ Expired* with ${quorumProgress(approval)}${decidedAt}`;
    case 'cancelled':
      return `*🚫 Cancelled by the requester's client*${decidedAt}`;
  }
}

function outcomePlain(approval: ApprovalRepresentation): string {
  const subject = approval.title ?? approval.action;
  switch (approval.status) {
    case 'pending':
      return (
        `Approval needed: ${subject} (${approval.action}) requested by ${approval.requester.email}` +
        ` — ${quorumProgress(approval)}, expires ${approval.expiresAt}`
      );
    case 'approved': {
      const by = approvals(approval).map(deciderPlain);
      return `✅ Approved: ${subject}${by.length > 0 ? ` — by ${by.join(', ')}` : ''}`;
    }
    case 'denied': {
      const by = denials(approval);
      const reason = by.find((d) => d.reason)?.reason;
      return `⛔ Denied: ${subject} — by ${by.map(deciderPlain).join(', ')}${reason ? `: ${reason}` : ''}`;
    }
    case 'expired':
      return approval.decisions.length === 0
        ? `⌛ Expired unanswered: ${subject}`
        : `⌛ Expired: ${subject} (${quorumProgress(approval)})`;
    case 'cancelled':
      return `🚫 Cancelled by the requester's client: ${subject}`;
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
  return hidden > 0 ? `${text}\n… ${plural(hidden, `more ${noun}`)}` : text;
}

function formatLeaf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

/** Flattens the masked context into [dotted key, display value] pairs, in the context's order. */
function flattenContext(value: unknown, prefix: string, out: [string, string][]): void {
  if (Array.isArray(value)) {
    out.push([prefix, value.length === 0 ? '[]' : value.map(formatLeaf).join(', ')]);
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix !== '') out.push([prefix, '{}']);
    for (const [key, member] of entries)
      flattenContext(member, prefix === '' ? key : `${prefix}.${key}`, out);
  } else {
    out.push([prefix, formatLeaf(value)]);
  }
}

function contextText(context: Record<string, unknown>): string | null {
  const pairs: [string, string][] = [];
  flattenContext(context, '', pairs);
  if (pairs.length === 0) return null;
  const lines = pairs.map(
    ([key, value]) =>
      `*${escapeClipped(oneLine(key), CONTEXT_KEY_LIMIT)}*: ${escapeClipped(oneLine(value), CONTEXT_VALUE_LIMIT)}`,
  );
  return boundedLines('*Context* (secrets masked)', lines, 'field');
}

function decisionsText(decisions: Decision[]): string | null {
  if (decisions.length === 0) return null;
  const lines = decisions.map((d) => {
    const verdict = d.verdict === 'approve' ? '✅ approved' : '⛔ denied';
    const reason = d.reason ? ` — ${escapeClipped(oneLine(d.reason), DECISION_REASON_LIMIT)}` : '';
    return `• ${deciderLabel(d)} ${verdict} ${slackDate(d.at)}${reason}`;
  });
  return boundedLines('*Decisions*', lines, 'decision');
}

function mrkdwnSection(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function field(label: string, value: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: `*${label}*\n${value}` };
}

function agentText(agent: NonNullable<ApprovalRepresentation['agent']>): string {
  const parts = [escapeClipped(oneLine(agent.name), 200)];
  if (agent.model) parts.push(escapeClipped(oneLine(agent.model), 200));
  if (agent.runId) parts.push(`run ${code(agent.runId, 200)}`);
  return parts.join(' · ');
}

function actionsBlock(approval: ApprovalRepresentation): ActionsBlock {
  const subject = approval.title ? `${approval.action} (${approval.title})` : approval.action;
  const approve: Button = {
    type: 'button',
    action_id: APPROVE_ACTION_ID,
    text: { type: 'plain_text', text: 'Approve', emoji: true },
    style: 'primary',
    value: approval.id,
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
    value: approval.id,
  };
  return { type: 'actions', block_id: cardBlockId(approval.id), elements: [approve, deny] };
}

export interface RenderApprovalCardOptions {
  /** Whether the request's policy rule requires a reason to deny (shown under the buttons). */
  denyReasonRequired: boolean;
}

/** The card for a request in any state; the buttons exist only while it is pending. */
export function renderApprovalCard(
  approval: ApprovalRepresentation,
  options: RenderApprovalCardOptions,
): { text: string; blocks: KnownBlock[] } {
  const isPending = approval.status === 'pending';
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: escapeClipped(oneLine(approval.title ?? approval.action), HEADER_TEXT_LIMIT, '…'),
        emoji: true,
      },
    },
  ];

  const outcome = outcomeText(approval);
  if (outcome) blocks.push(mrkdwnSection(outcome));

  const requester = approval.requester.name
    ? `${approval.requester.email} (${approval.requester.name})`
    : approval.requester.email;
  const fields = [
    field('Action', code(approval.action, 300)),
    field('Requester', escapeClipped(oneLine(requester), FIELD_TEXT_BUDGET)),
  ];
  if (approval.agent) fields.push(field('Agent', agentText(approval.agent)));
  if (approval.policyRule) fields.push(field('Policy rule', code(approval.policyRule, 300)));
  fields.push(
    field('Quorum', quorumProgress(approval)),
    field(isPending ? 'Expires' : 'Expiry', slackDate(approval.expiresAt)),
    field('Request id', code(approval.id, 100)),
  );
  blocks.push({ type: 'section', fields });

  if (approval.reason) {
    blocks.push(mrkdwnSection(`*Reason*\n${escapeClipped(approval.reason, SECTION_TEXT_BUDGET - 20)}`));
  }
  const context = contextText(approval.context);
  if (context) blocks.push(mrkdwnSection(context));
  const decisions = decisionsText(approval.decisions);
  if (decisions) blocks.push(mrkdwnSection(decisions));

  if (isPending) {
    blocks.push(actionsBlock(approval));
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: options.denyReasonRequired
            ? 'Denying asks for a reason (required by policy). The requester cannot decide their own request.'
            : 'Denying asks for an optional reason. The requester cannot decide their own request.',
        },
      ],
    });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Payload digest ${code(approval.payloadDigest, 200)}` }],
  });

  return { text: escapeClipped(outcomePlain(approval), FALLBACK_TEXT_LIMIT, '…'), blocks };
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
          max_length: DENY_REASON_MAX_LENGTH,
          placeholder: { type: 'plain_text', text: 'Why should this not happen?' },
        },
      },
    ],
  };
}

const REFUSALS: Record<string, string> = {
  SELF_APPROVAL_FORBIDDEN:
    'You asked for this action, or you own the agent that asked for it, so you cannot approve or deny it.',
  NOT_ELIGIBLE:
    "You are not one of the approvers this request's policy allows, so your decision was not recorded.",
  IDENTITY_UNRESOLVED:
    'Countersign could not read your email from your Slack profile, so it cannot tell whether you may decide; ask a Slack admin to let apps see member emails.',
  ALREADY_DECIDED: 'This request already has its verdict, so your decision changed nothing.',
  REQUEST_EXPIRED: 'This request expired before your decision arrived, so it can no longer be decided.',
  DENY_REASON_REQUIRED: "This request's policy requires a reason to deny it; please give one.",
  NOT_FOUND: 'Countersign has no such request, so nothing was recorded.',
  BUTTON_MISMATCH: 'This button does not belong to this message, so the click was ignored.',
};

const GENERIC_REFUSAL = 'Countersign could not record your decision just now; please try again in a moment.';

/** The one sentence the clicker sees (privately) when a decision is refused. */
export function refusalMessage(code: string): string {
  return Object.hasOwn(REFUSALS, code) ? (REFUSALS[code] ?? GENERIC_REFUSAL) : GENERIC_REFUSAL;
}
