// A click on a break-glass card's Acknowledge or Flag, whatever the platform: the button must
// belong to the card stored for that message, the clicker is resolved to their corporate email
// exactly as for an approve click (fail closed), and reviewBreakGlass decides whether they may
// review. A chat review carries no note. Refusals come with the clicker's private sentence.
import { reviewBreakGlass, type ReviewOutcome } from '../approvals/break-glass/review-break-glass.ts';
import {
  isCardOfItsMessage,
  refusalOf,
  refused,
  type CardClick,
  type ChatDeps,
  type ChatRefusal,
} from './handle-card-action.ts';

export type ReviewFromCardOutcome = { kind: 'reviewed'; outcome: ReviewOutcome } | ChatRefusal;

export async function reviewFromCard(
  deps: ChatDeps,
  click: CardClick,
  outcome: ReviewOutcome,
): Promise<ReviewFromCardOutcome> {
  if (!(await isCardOfItsMessage(deps, click))) return refused('CARD_MISMATCH', click.platform);
  if (!click.clicker.isOwnTenant) return refused('FOREIGN_TENANT', click.platform);
  const who = await deps.identity.resolve(click.clicker.identityKey, click.clicker.lookup);
  if (!who.email) return refused('IDENTITY_UNRESOLVED', click.platform);
  try {
    await reviewBreakGlass(deps, { requestId: click.requestId, reviewer: who.email, outcome, note: null });
    return { kind: 'reviewed', outcome };
  } catch (error) {
    return refusalOf(deps, click, error, 'chat break-glass review refused');
  }
}
