// The Slack side of the card flush loop: Block Kit through chat.postMessage / chat.update, the
// crash look-up by message metadata in the channel's history, and Slack's errors classified.
import { WebAPIPlatformError, WebAPIRateLimitedError, type WebClient } from '@slack/web-api';
import type { ChatTransport, TransportFailure } from '../flush-channel.ts';
import { renderSlackCard } from './cards.ts';

export const CARD_METADATA_EVENT = 'countersign_card';

/** The look-up starts this long before the post was attempted, for clock skew with Slack. */
const LOOKUP_MARGIN_SECONDS = 60;
/** Messages asked for per conversations.history page (Slack may answer fewer). */
const HISTORY_PAGE_SIZE = 200;

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
      // Newest first, a page at a time: each next page ends where the last one stopped, so a card
      // behind many later messages is still found (Slack caps the page size for many apps).
      const oldest = (attemptedAt.getTime() / 1000 - LOOKUP_MARGIN_SECONDS).toFixed(6);
      let latest: string | undefined;
      for (;;) {
        const history = await client.conversations.history({
          channel: channelId,
          oldest,
          ...(latest ? { latest } : {}),
          include_all_metadata: true,
          limit: HISTORY_PAGE_SIZE,
        });
        const messages = history.messages ?? [];
        const found = messages.find((m) => {
          const payload: Record<string, unknown> = { ...m.metadata?.event_payload };
          return m.metadata?.event_type === CARD_METADATA_EVENT && payload['request_id'] === requestId;
        });
        if (found?.ts) return found.ts;
        const last = messages.at(-1)?.ts;
        if (!history.has_more) return null;
        // More pages, but no way to reach them: not found is not known, so the look-up fails.
        if (!last || last === latest) throw new Error('conversations.history: has_more without a next page');
        latest = last;
      }
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
