// A click on a card's Approve or Deny, whatever the platform: the button must belong to the card
// stored for that message, the clicker is resolved to their corporate email (fail closed), and
// recordDecision decides. The outcome says what the adapter shows; refusals come with the
// clicker's private sentence.
import { isUuid } from '../approvals/find-request.ts';
import { recordDecision, type RecordDecisionResult } from '../approvals/record-decision.ts';
import { textLengthProblem } from '../approvals/text-limits.ts';
import type { Deps } from '../deps.ts';
import { isAppError, type ErrorCode } from '../errors.ts';
import type { ChatPlatform } from '../approvals/channels.ts';
import type { ChatIdentity, IdentityCache } from './identity-cache.ts';
import { refusalText } from './refusal-text.ts';

export interface ChatDeps extends Deps {
  identity: IdentityCache;
}

export interface CardClick {
  platform: ChatPlatform;
  /** The stored channel string of the card's conversation, e.g. `slack:C0DATA`. */
  channel: string;
  /** The platform's id of the message the click came from (Slack ts, Teams activity id). */
  messageId: string;
  /** The request id the button carries. */
  requestId: string;
  /** The request id the button's container was rendered for; must equal `requestId`. */
  boundRequestId: string | null;
  clicker: {
    userId: string;
    /** Cache key: unique per person on the platform (Teams: tenant and object id). */
    identityKey: string;
    /** False when the clicker's workspace or tenant is not one the app serves. */
    isOwnTenant: boolean;
    lookup: () => Promise<ChatIdentity>;
  };
}

export interface ChatRefusal {
  kind: 'refused';
  code: ErrorCode;
  /** The clicker's private sentence. */
  text: string;
}

export type CardActionOutcome = { kind: 'recorded'; result: RecordDecisionResult } | ChatRefusal;

export function refused(code: ErrorCode, platform: ChatPlatform): ChatRefusal {
  return { kind: 'refused', code, text: refusalText(code, platform) };
}

/**
 * The core's refusal (an AppError) of a click as the clicker's private sentence, logged at info
 * with `what` as the message; anything else is thrown on.
 */
export function refusalOf(
  deps: Pick<Deps, 'log'>,
  click: CardClick,
  error: unknown,
  what: string,
): ChatRefusal {
  if (!isAppError(error)) throw error;
  deps.log.info(
    { code: error.code, requestId: click.requestId, platform: click.platform, userId: click.clicker.userId },
    what,
  );
  return refused(error.code, click.platform);
}

/** The button carries the id of the request its card was rendered for, on the message stored for it. */
export async function isCardOfItsMessage(deps: Deps, click: CardClick): Promise<boolean> {
  if (!isUuid(click.requestId) || click.boundRequestId !== click.requestId) return false;
  const card = await deps.db.prisma.chatCard.findUnique({
    where: { requestId_channel: { requestId: click.requestId, channel: click.channel } },
    select: { messageId: true },
  });
  return card?.messageId === click.messageId;
}

export interface DenyPrompt {
  title: string;
  reasonRequired: boolean;
}

/** What the deny step asks (the request's title, whether a reason is required), or a refusal. */
export async function promptDeny(deps: Deps, click: CardClick): Promise<DenyPrompt | ChatRefusal> {
  if (!(await isCardOfItsMessage(deps, click))) return refused('CARD_MISMATCH', click.platform);
  const request = await deps.db.prisma.approvalRequest.findUnique({
    where: { id: click.requestId },
    select: { title: true, action: true, denyReasonRequired: true },
  });
  if (!request) return refused('NOT_FOUND', click.platform);
  return { title: request.title ?? request.action, reasonRequired: request.denyReasonRequired };
}

/** The clicker's sentence for a deny reason over its limit (as typed), or undefined when it fits. */
function denyReasonTooLong(reason: string): string | undefined {
  const problem = textLengthProblem('reason', reason);
  if (!problem) return undefined;
  return `${problem.charAt(0).toUpperCase()}${problem.slice(1)}. Shorten it and send again.`;
}

/**
 * The deny reason checked before anything is recorded, for every chat door: the clicker's sentence
 * when it is too long, or missing where the request's rule requires one; undefined when it may go
 * on to recordDecision (which checks the rule again). If the database cannot say whether a reason
 * is required, the decision that follows fails too and the clicker is told there.
 */
export async function denyReasonProblem(
  deps: Deps,
  platform: ChatPlatform,
  requestId: string,
  reason: string,
): Promise<string | undefined> {
  const tooLong = denyReasonTooLong(reason);
  if (tooLong) return tooLong;
  if (reason.trim() !== '' || !isUuid(requestId)) return undefined;
  const request = await deps.db.prisma.approvalRequest
    .findUnique({ where: { id: requestId }, select: { denyReasonRequired: true } })
    .catch(() => null);
  return request?.denyReasonRequired === true ? refusalText('DENY_REASON_REQUIRED', platform) : undefined;
}

export async function decideFromCard(
  deps: ChatDeps,
  click: CardClick,
  decision: { verdict: 'approve' | 'deny'; reason?: string | undefined; grantMinutes?: number | undefined },
): Promise<CardActionOutcome> {
  if (!(await isCardOfItsMessage(deps, click))) return refused('CARD_MISMATCH', click.platform);
  const who = await deps.identity.resolve(click.clicker.identityKey, click.clicker.lookup);
  try {
    const result = await recordDecision(deps, {
      requestId: click.requestId,
      verdict: decision.verdict,
      reason: decision.reason,
      grantMinutes: decision.grantMinutes,
      approver: {
        email: who.email,
        platform: click.platform,
        platformUserId: click.clicker.userId,
        displayName: who.displayName,
        fromForeignTenant: !click.clicker.isOwnTenant,
      },
    });
    return { kind: 'recorded', result };
  } catch (error) {
    return refusalOf(deps, click, error, 'chat decision refused');
  }
}
