// Resolves a Slack user to the corporate email on their profile (users.info), cached briefly so
// a burst of clicks does not hit Slack's rate limit. No email means no identity: fail closed.
import type { WebClient } from '@slack/web-api';
import type { Clock } from '../../deps.ts';

const CACHE_TTL_MS = 5 * 60_000;

export interface SlackIdentity {
  email: string | null;
  displayName: string | null;
}

export interface SlackIdentityResolver {
  resolve(userId: string): Promise<SlackIdentity>;
}

export function createSlackIdentityResolver(client: WebClient, clock: Clock): SlackIdentityResolver {
  const cache = new Map<string, { identity: SlackIdentity; until: number }>();
  return {
    async resolve(userId) {
      const now = clock.now().getTime();
      const hit = cache.get(userId);
      if (hit && hit.until > now) return hit.identity;
      let identity: SlackIdentity;
      try {
        const answer = await client.users.info({ user: userId });
        const profile = answer.user?.profile;
        identity = {
          email: profile?.email?.trim() ? profile.email.trim().toLowerCase() : null,
          displayName:
            profile?.display_name ||
            profile?.real_name ||
            answer.user?.real_name ||
            answer.user?.name ||
            null,
        };
      } catch {
        // Unknown user or Slack unreachable: the click cannot be tied to a person, so it cannot count.
        return { email: null, displayName: null };
      }
      cache.set(userId, { identity, until: now + CACHE_TTL_MS });
      return identity;
    },
  };
}
