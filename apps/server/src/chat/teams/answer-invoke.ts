// The answers a Universal Actions invoke (`adaptiveCard/action`) can give: a card that replaces
// the clicker's view, a short message the clicker sees, or an error.

/** Teams' AdaptiveCardInvokeResponse: sent as the HTTP body of the invoke's answer. */
export interface InvokeAnswer {
  statusCode: number;
  type: string;
  value: unknown;
}

export const ADAPTIVE_CARD_ANSWER = 'application/vnd.microsoft.card.adaptive';
export const MESSAGE_ANSWER = 'application/vnd.microsoft.activity.message';
export const ERROR_ANSWER = 'application/vnd.microsoft.error';

/** Replaces the card for the clicker with `card` (an Adaptive Card JSON object). */
export function answerWithCard(card: Record<string, unknown>): InvokeAnswer {
  return { statusCode: 200, type: ADAPTIVE_CARD_ANSWER, value: card };
}

/** Shows `text` to the clicker only; the card stays as it is. */
export function answerWithMessage(text: string): InvokeAnswer {
  return { statusCode: 200, type: MESSAGE_ANSWER, value: text };
}

/** A malformed action (not ours, or not Action.Execute). */
export function answerWithError(statusCode: number, message: string): InvokeAnswer {
  return { statusCode, type: ERROR_ANSWER, value: { code: 'BadRequest', message } };
}
