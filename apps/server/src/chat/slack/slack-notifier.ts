// Reminders and the requester's notice on Slack: people are found by email (users.lookupByEmail,
// scope users:read.email), mentioned as <@U…> in a thread reply under the card, and told directly
// in the bot's DM with them (conversations.open with users=U…, scope im:write, then chat.postMessage).
import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import type { CountChatCall } from '../count-chat-call.ts';
import type { ChatNotifier } from '../follow-up/chat-notifier.ts';

/** Slack's answer when no user has this email. */
const NO_SUCH_USER = 'users_not_found';

export function createSlackNotifier(client: WebClient, countCall: CountChatCall): ChatNotifier {
  /** The user id for an email; null when Slack knows nobody by it. */
  const userIdOf = async (email: string): Promise<string | null> => {
    try {
      const answer = await countCall('users.lookupByEmail', () => client.users.lookupByEmail({ email }));
      return answer.user?.id ?? null;
    } catch (error) {
      if (error instanceof WebAPIPlatformError && error.data.error === NO_SUCH_USER) return null;
      throw error;
    }
  };
  return {
    platform: 'slack',
    async replyInThread(channelId, messageId, reply) {
      const mentioned: string[] = [];
      const unresolved: string[] = [];
      const ids: string[] = [];
      for (const email of reply.mention) {
        const id = await userIdOf(email);
        if (id) {
          ids.push(id);
          mentioned.push(email);
        } else unresolved.push(email);
      }
      const mentions = ids.map((id) => `<@${id}>`).join(' ');
      await countCall('chat.postMessage', () =>
        client.chat.postMessage({
          channel: channelId,
          thread_ts: messageId,
          text: mentions ? `${mentions} ${reply.text}` : reply.text,
        }),
      );
      return { mentioned, unresolved };
    },
    async directMessage(email, text) {
      const userId = await userIdOf(email);
      if (!userId) return 'unreachable';
      const opened = await countCall('conversations.open', () =>
        client.conversations.open({ users: userId }),
      );
      const channel = opened.channel?.id;
      if (!channel) throw new Error('conversations.open answered without a channel id');
      await countCall('chat.postMessage', () => client.chat.postMessage({ channel, text }));
      return 'sent';
    },
  };
}
