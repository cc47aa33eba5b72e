// Resolves a chat user to their corporate identity through the platform's lookup, cached briefly
// so a burst of clicks does not hit the platform's rate limits. Fail closed: a lookup that fails
// yields no email (so no decision counts) and is not cached, so the next click asks again.
import type { Clock } from '../deps.ts';

export interface ChatIdentity {
  /** Lower-cased corporate email (Teams: email, else UPN); null when the platform gives none. */
  email: string | null;
  displayName: string | null;
}

export const UNRESOLVED: ChatIdentity = { email: null, displayName: null };

export interface IdentityCache {
  /**
   * The identity for `key` (a platform user id, unique within the platform), from the cache or
   * from `lookup`. Never throws: a failing lookup gives UNRESOLVED.
   */
  resolve(key: string, lookup: () => Promise<ChatIdentity>): Promise<ChatIdentity>;
}

export const IDENTITY_CACHE_TTL_MS = 5 * 60_000;

export function normaliseEmail(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed.toLowerCase() : null;
}

export function createIdentityCache(
  clock: Clock,
  onLookupFailed: (key: string, error: unknown) => void,
  ttlMs = IDENTITY_CACHE_TTL_MS,
): IdentityCache {
  const cache = new Map<string, { identity: ChatIdentity; until: number }>();
  return {
    async resolve(key, lookup) {
      const now = clock.now().getTime();
      const hit = cache.get(key);
      if (hit && hit.until > now) return hit.identity;
      let identity: ChatIdentity;
      try {
        const found = await lookup();
        identity = { email: normaliseEmail(found.email), displayName: found.displayName };
      } catch (error) {
        onLookupFailed(key, error);
        return UNRESOLVED;
      }
      cache.set(key, { identity, until: now + ttlMs });
      return identity;
    },
  };
}
