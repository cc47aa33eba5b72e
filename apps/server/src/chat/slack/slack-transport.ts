// The Slack side of the card flush loop: Block Kit through chat.postMessage / chat.update, the
// crash look-up by message metadata in the channel's history, and Slack's errors classified.
import { WebAPIPlatformError, WebAPIRateLimitedError, type WebClient } from '@slack/web-api';
import type { ChatTransport, TransportFailure } from '../flush-channel.ts';
import { renderSlackCard } from './cards.ts';

export const CARD_METADATA_EVENT = 'countersign_card';

/** Slack's answers for a token that no longer works: the app was uninstalled or its token revoked. */
export const REVOKED_TOKEN_ERRORS: ReadonlySet<string> = new Set([
  'token_revoked',
  'token_expired',
  'invalid_auth',
  'account_inactive',
  'not_authed',
]);

export function createSlackTransport(client: WebClient): ChatTransport {
  return {
    platform: 'slack',
    methodNames: { post: 'chat.postMessage', update: 'chat.update', findPosted: 'conversations.history' },
    async post(channelId, view) {
      const { text, blocks } = renderSlackCard(view);
      const posted = await client.chat.postMessage({
        channel: channelId,
        text,
        blocks,
        metadata: { event_type: CARD_METADATA_EVENT, event_payload: { request_id: view.requestId } },
      });
      if (!posted.ts) throw new Error('chat.postMessage answered without a message ts');
      return posted.ts;
    },
    async update(channelId, messageId, view) {
      const { text, blocks } = renderSlackCard(view);
      await client.chat.update({ channel: channelId, ts: messageId, text, blocks });
    },
    async findPosted(channelId, requestId, attemptedAt) {
      const since = attemptedAt.getTime() / 1000 - 60;
      const history = await client.conversations.history({
        channel: channelId,
        oldest: since.toFixed(6),
        include_all_metadata: true,
        limit: 200,
      });
      const found = history.messages?.find((m) => {
        const payload: Record<string, unknown> = { ...m.metadata?.event_payload };
        return m.metadata?.event_type === CARD_METADATA_EVENT && payload['request_id'] === requestId;
      });
      return found?.ts ?? null;
    },
    classify: classifySlackError,
  };
}

/** What a failed Web API call means: throttled, token dead, refused for good, or try again later. */
export function classifySlackError(error: unknown): TransportFailure {
  if (error instanceof WebAPIRateLimitedError)
    return { kind: 'rate_limited', retryAfterSeconds: error.retryAfter };
  if (error instanceof WebAPIPlatformError) {
    // Not this card but every card: the token is dead.
    if (REVOKED_TOKEN_ERRORS.has(error.data.error)) return { kind: 'revoked', error: error.data.error };
    // channel_not_found, not_in_channel, …: Slack will not take this card.
    return { kind: 'refused', error: error.data.error };
  }
  return { kind: 'transient' };
}
