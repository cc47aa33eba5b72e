// The approval card's content, independent of any platform: what a reviewer must see (title,
// fields, masked context, decisions, quorum progress, outcome) and whether the buttons show.
// Block Kit (Slack) and Adaptive Cards (Teams) both render from this, so the cards agree.
import { commandLineOf } from '../approvals/exec-binding.ts';
import { POLICY_CHANGE_ACTION } from '../approvals/policy/policy-versions.ts';
import { describeRequesterProof } from '../receipts/requester-proof.ts';
import type { ApprovalRepresentation } from '../approvals/view/approval.ts';

type Decision = ApprovalRepresentation['decisions'][number];
type Status = ApprovalRepresentation['status'];

/** Who decided: a person, or the policy rule that auto-approved. */
export type Decider =
  | { kind: 'person'; email: string; name: string | null; onBehalfOf?: string }
  | { kind: 'policy'; rule: string };

export interface CardDecision {
  decider: Decider;
  verdict: 'approve' | 'deny';
  reason: string | null;
  at: string;
}

/** How many deciders an outcome line names before it counts the rest. */
export const DECIDERS_NAMED = 5;

export interface CardOutcome {
  status: Exclude<Status, 'pending'>;
  /** Approvers of an approved request, deniers of a denied one (the first DECIDERS_NAMED). */
  deciders: Decider[];
  /** Deciders beyond those named. */
  moreDeciders: number;
  /** Reasons of the named deniers that gave one. */
  reasons: string[];
  /** Whether anyone had decided (an expired request may have partial progress). */
  hadDecisions: boolean;
  decidedAt: string | null;
}

export interface CardView {
  requestId: string;
  status: Status;
  title: string | null;
  /** The title, or the action when the request has none. */
  heading: string;
  action: string;
  requester: { email: string; name: string | null };
  /** How the requester was established, e.g. "proven (github-actions: alice / org/repo / run 123)". */
  requesterProof: string;
  agent: { name: string; model: string | null; runId: string | null } | null;
  policyRule: string | null;
  /** "1 of 2 approvals", plus the denials when there are any. */
  quorumProgress: string;
  expiresAt: string;
  reason: string | null;
  /** The masked context flattened to [dotted key, display value] pairs, in the context's order. */
  context: [string, string][];
  /** The command the approval lets run (context `exec`), as one line; null when none is bound. */
  commandLine: string | null;
  /**
   * A `policy.change` request's proposed change: the unified diff from the version in force, shown
   * as a monospace block (and left out of `context`); null for any other request.
   */
  policyDiff: { baseVersion: number | null; text: string } | null;
  decisions: CardDecision[];
  outcome: CardOutcome | null;
  /** Approve and Deny show only while the request is pending. */
  showButtons: boolean;
  denyReasonRequired: boolean;
  /** "Approve for N min" choices the rule's grant.upTo allows (empty: approve this call only). */
  grantChoices: number[];
  payloadDigest: string;
  /** One plain line for notifications and clients that cannot render the card. */
  summary: string;
  /** The request's page in the web console, when the public URL is configured. */
  consoleUrl: string | null;
  /** Approvers the rule's escalation added (request.escalated), when it happened. */
  escalatedTo?: string[];
  /**
   * Set when the requester used break-glass: the heading and summary then start with BREAK-GLASS.
   * `reviewOpen`: nobody acknowledged or flagged it yet (pending or overdue), so Acknowledge and
   * Flag show.
   */
  breakGlass: { reason: string; reviewLine: string; reviewOpen: boolean } | null;
}

export interface CardViewOptions {
  denyReasonRequired: boolean;
  /** The request's grant.upTo in seconds (its `grant_up_to`); null or absent: calls only. */
  grantUpToSeconds?: number | null | undefined;
  /** COUNTERSIGN_PUBLIC_URL; with it the card links to the request's page. */
  publicUrl?: string | undefined;
  /** Approvers added by the request's escalation, when it was escalated. */
  escalatedTo?: string[] | undefined;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function deciderOf(decision: Decision): Decider {
  const { approver } = decision;
  if (approver.platform === 'policy') return { kind: 'policy', rule: approver.email.replace(/^policy:/, '') };
  return {
    kind: 'person',
    email: approver.email,
    name: approver.displayName,
    ...(decision.onBehalfOf ? { onBehalfOf: decision.onBehalfOf } : {}),
  };
}

/** "Bob Smith (bob@example.com)", "bob@example.com", or "policy rule read-only". */
export function deciderPlain(decider: Decider): string {
  if (decider.kind === 'policy') return `policy rule ${decider.rule}`;
  const who = decider.name ? `${decider.name} (${decider.email})` : decider.email;
  return decider.onBehalfOf ? `${who} for ${decider.onBehalfOf}` : who;
}

export function quorumProgress(approval: ApprovalRepresentation): string {
  const approved = approval.decisions.filter((d) => d.verdict === 'approve').length;
  const denied = approval.decisions.filter((d) => d.verdict === 'deny').length;
  const progress = `${approved} of ${plural(approval.quorum, 'approval')}`;
  return denied > 0 ? `${progress}, ${plural(denied, 'denial')}` : progress;
}

function formatLeaf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

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

export function contextLines(context: Record<string, unknown>): [string, string][] {
  const pairs: [string, string][] = [];
  flattenContext(context, '', pairs);
  return pairs;
}

function outcomeOf(approval: ApprovalRepresentation): CardOutcome | null {
  if (approval.status === 'pending') return null;
  const verdict = approval.status === 'approved' ? 'approve' : approval.status === 'denied' ? 'deny' : null;
  const by = verdict ? approval.decisions.filter((d) => d.verdict === verdict) : [];
  const named = by.slice(0, DECIDERS_NAMED);
  return {
    status: approval.status,
    deciders: named.map(deciderOf),
    moreDeciders: by.length - named.length,
    reasons: approval.status === 'denied' ? named.flatMap((d) => (d.reason ? [d.reason] : [])) : [],
    hadDecisions: approval.decisions.length > 0,
    decidedAt: approval.decidedAt,
  };
}

function summaryOf(approval: ApprovalRepresentation): string {
  const subject = approval.title ?? approval.action;
  const by = (verdict: 'approve' | 'deny') =>
    approval.decisions.filter((d) => d.verdict === verdict).map((d) => deciderPlain(deciderOf(d)));
  switch (approval.status) {
    case 'pending':
      return (
        `Approval needed: ${subject} (${approval.action}) requested by ${approval.requester.email}` +
        ` — ${quorumProgress(approval)}, expires ${approval.expiresAt}`
      );
    case 'approved': {
      const approvers = by('approve');
      return `✅ Approved: ${subject}${approvers.length > 0 ? ` — by ${approvers.join(', ')}` : ''}`;
    }
    case 'denied': {
      const reason = approval.decisions.find((d) => d.verdict === 'deny' && d.reason)?.reason;
      return `⛔ Denied: ${subject} — by ${by('deny').join(', ')}${reason ? `: ${reason}` : ''}`;
    }
    case 'expired':
      return approval.decisions.length === 0
        ? `⌛ Expired unanswered: ${subject}`
        : `⌛ Expired: ${subject} (${quorumProgress(approval)})`;
    case 'cancelled':
      return `🚫 Cancelled by the requester's client: ${subject}`;
  }
}

/** The diff of a `policy.change` request's context (propose-policy.ts), or null. */
export function policyDiffOf(approval: ApprovalRepresentation): CardView['policyDiff'] {
  if (approval.action !== POLICY_CHANGE_ACTION) return null;
  const { diff, baseVersion } = approval.context;
  if (typeof diff !== 'string') return null;
  return { baseVersion: typeof baseVersion === 'number' ? baseVersion : null, text: diff };
}

export interface FittedLines {
  lines: string[];
  /** Lines left out to stay within the budget: the card says how many, never cuts silently. */
  hidden: number;
}

/**
 * The first lines of `text` that fit `budget` characters as `measure` counts them (a line of its
 * own rendered length plus its line break), each line longer than `lineLimit` cut with a visible
 * `…`. What does not fit is counted, for a "… N more lines in the console" line.
 */
export function fitLines(
  text: string,
  options: { budget: number; lineLimit: number; measure?: (line: string) => number },
): FittedLines {
  const measure = options.measure ?? ((line: string) => line.length);
  const all = text.replace(/\n$/, '').split('\n');
  const lines: string[] = [];
  let used = 0;
  for (const line of all) {
    const chars = Array.from(line);
    const shown =
      chars.length > options.lineLimit ? `${chars.slice(0, options.lineLimit - 1).join('')}…` : line;
    const cost = measure(shown) + 1;
    if (used + cost > options.budget) break;
    lines.push(shown);
    used += cost;
  }
  return { lines, hidden: all.length - lines.length };
}

/** The line under a diff that did not fit on the card. */
export function moreLinesText(hidden: number): string {
  return `… ${hidden} more line${hidden === 1 ? '' : 's'} in the console`;
}

/** The sentence under the buttons. */
export function buttonsHint(view: CardView): string {
  return view.denyReasonRequired
    ? 'Denying asks for a reason (required by policy). The requester cannot decide their own request.'
    : 'Denying asks for an optional reason. The requester cannot decide their own request.';
}

export function consoleRequestUrl(publicUrl: string, requestId: string): string {
  return new URL(
    `requests/${encodeURIComponent(requestId)}`,
    publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`,
  ).href;
}

/** The windows an approver can pick: 15 and 60 minutes where allowed, and the rule's longest. */
export function grantChoices(upToSeconds: number | null): number[] {
  if (upToSeconds === null) return [];
  const upTo = Math.floor(upToSeconds / 60);
  if (upTo < 1) return [];
  return [...new Set([15, 60].filter((m) => m < upTo).concat(upTo))].sort((a, b) => a - b);
}

/** Where a break-glass use's review stands, in one line. */
export function breakGlassReviewLine(breakGlass: NonNullable<ApprovalRepresentation['breakGlass']>): string {
  switch (breakGlass.review) {
    case 'pending':
      return `Review needed by ${breakGlass.reviewers.join(', ')} before ${breakGlass.reviewDueAt}: acknowledge or flag it in the console`;
    case 'overdue':
      return `REVIEW OVERDUE: nobody acknowledged or flagged it by ${breakGlass.reviewDueAt} (reviewers: ${breakGlass.reviewers.join(', ')})`;
    case 'acknowledged':
    case 'flagged':
      return `Review: ${breakGlass.review} by ${breakGlass.reviewedBy ?? 'a reviewer'}${breakGlass.reviewNote ? ` — ${breakGlass.reviewNote}` : ''}`;
  }
}

/** Whether a reviewer can still acknowledge or flag the use: nobody has, overdue or not. */
export function isReviewOpen(breakGlass: NonNullable<ApprovalRepresentation['breakGlass']>): boolean {
  return breakGlass.review === 'pending' || breakGlass.review === 'overdue';
}

export function buildCardView(approval: ApprovalRepresentation, options: CardViewOptions): CardView {
  const view = buildPlainCardView(approval, options);
  const breakGlass = approval.breakGlass;
  if (!breakGlass) return view;
  const reviewLine = breakGlassReviewLine(breakGlass);
  return {
    ...view,
    heading: `BREAK-GLASS: ${view.heading}`,
    summary: `BREAK-GLASS — ${view.summary} — ${reviewLine}`,
    breakGlass: { reason: breakGlass.reason, reviewLine, reviewOpen: isReviewOpen(breakGlass) },
  };
}

function withoutDiff(context: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(context).filter(([key]) => key !== 'diff'));
}

function buildPlainCardView(approval: ApprovalRepresentation, options: CardViewOptions): CardView {
  const policyDiff = policyDiffOf(approval);
  return {
    requestId: approval.id,
    status: approval.status,
    title: approval.title,
    heading: approval.title ?? approval.action,
    action: approval.action,
    requester: { email: approval.requester.email, name: approval.requester.name },
    requesterProof: describeRequesterProof(approval.requester.proof),
    agent: approval.agent
      ? {
          name: approval.agent.name,
          model: approval.agent.model ?? null,
          runId: approval.agent.runId ?? null,
        }
      : null,
    policyRule: approval.policyRule,
    quorumProgress: quorumProgress(approval),
    expiresAt: approval.expiresAt,
    reason: approval.reason,
    context: contextLines(policyDiff ? withoutDiff(approval.context) : approval.context),
    commandLine: commandLineOf(approval.context),
    policyDiff,
    decisions: approval.decisions.map((d) => ({
      decider: deciderOf(d),
      verdict: d.verdict,
      reason: d.reason,
      at: d.at,
    })),
    outcome: outcomeOf(approval),
    showButtons: approval.status === 'pending',
    denyReasonRequired: options.denyReasonRequired,
    grantChoices: grantChoices(options.grantUpToSeconds ?? null),
    payloadDigest: approval.payloadDigest,
    summary: summaryOf(approval),
    consoleUrl: options.publicUrl ? consoleRequestUrl(options.publicUrl, approval.id) : null,
    ...(options.escalatedTo ? { escalatedTo: options.escalatedTo } : {}),
    breakGlass: null,
  };
}
