// A Slack user's corporate identity: the email on their profile (users.info), which needs the
// users:read and users:read.email scopes. Caching and failing closed are the chat core's.
import type { WebClient } from '@slack/web-api';
import type { CountChatCall } from '../count-chat-call.ts';
import type { ChatIdentity } from '../identity-cache.ts';

export function lookUpSlackUser(
  client: WebClient,
  countCall: CountChatCall,
  userId: string,
): () => Promise<ChatIdentity> {
  return async () => {
    const answer = await countCall('users.info', () => client.users.info({ user: userId }));
    const profile = answer.user?.profile;
    return {
      email: profile?.email ?? null,
      displayName:
        profile?.display_name || profile?.real_name || answer.user?.real_name || answer.user?.name || null,
    };
  };
}
