// The one sentence a clicker sees, privately, when a chat decision is refused: keyed by the error
// code, worded once for every platform (the platform's name is a parameter).
import type { ErrorCode } from '../errors.ts';
import { PLATFORM_NAMES, type ChatPlatform } from '../approvals/channels.ts';

interface Wording {
  platform: string;
  /** What an admin of that platform can do when members' emails cannot be read. */
  identityFix: string;
}

const WORDING: Record<ChatPlatform, Wording> = {
  slack: { platform: PLATFORM_NAMES.slack, identityFix: 'let apps see member emails' },
  teams: {
    platform: PLATFORM_NAMES.teams,
    identityFix: 'make sure your account has an email address or user principal name',
  },
};

const REFUSALS: Partial<Record<ErrorCode, (w: Wording) => string>> = {
  SELF_APPROVAL_FORBIDDEN: () =>
    'You asked for this action, or you own the agent that asked for it, so you cannot approve or deny it.',
  NOT_ELIGIBLE: () =>
    "You are not one of the approvers this request's policy allows, so your decision was not recorded.",
  IDENTITY_UNRESOLVED: (w) =>
    `Countersign could not read your email from your ${w.platform} profile, so it cannot tell whether you may decide; ask a ${w.platform} admin to ${w.identityFix}.`,
  FOREIGN_TENANT: (w) =>
    `Your ${w.platform} account belongs to another organisation than the one this app is installed in, so your decision was not recorded.`,
  DEPROVISIONED: () =>
    'Your identity provider has deactivated or removed your account here, so your decision cannot count.',
  ALREADY_DECIDED: () => 'This request already has its verdict, so your decision changed nothing.',
  REQUEST_EXPIRED: () => 'This request expired before your decision arrived, so it can no longer be decided.',
  DENY_REASON_REQUIRED: () => "This request's policy requires a reason to deny it; please give one.",
  NOT_FOUND: () => 'Countersign has no such request, so nothing was recorded.',
  NOT_A_REVIEWER: () =>
    "You are not one of this break-glass use's reviewers (the person who used it never is), so your review was not recorded.",
  ALREADY_REVIEWED: () => 'This break-glass use was already reviewed, so your review changed nothing.',
  CARD_MISMATCH: () => 'This button does not belong to this message, so the click was ignored.',
};

const GENERIC_REFUSAL = 'Countersign could not record your decision just now; please try again in a moment.';

/** Said when something unexpected failed: the clicker must know that nothing was recorded. */
export const UNEXPECTED_FAILURE =
  'Something went wrong in Countersign and your decision was not recorded; please try again in a moment.';

/** The sentence for `code` on `platform`; any code without its own sentence gets the generic one. */
export function refusalText(code: string, platform: ChatPlatform): string {
  const sentence = Object.hasOwn(REFUSALS, code) ? REFUSALS[code as ErrorCode] : undefined;
  return sentence ? sentence(WORDING[platform]) : GENERIC_REFUSAL;
}
