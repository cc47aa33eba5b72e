import { describe, expect, it } from 'vitest';
import { createIdentityCache, UNRESOLVED, type ChatIdentity } from './identity-cache.ts';

function clockAt(ms: number) {
  const clock = { ms, now: () => new Date(clock.ms) };
  return clock;
}

describe('the chat identity cache', () => {
  it('lower-cases and trims the email, and serves repeats from the cache until the TTL ends', async () => {
    const clock = clockAt(0);
    const cache = createIdentityCache(clock, () => undefined, 1000);
    let lookups = 0;
    const lookup = () => {
      lookups += 1;
      return Promise.resolve<ChatIdentity>({ email: '  Bob@Example.COM ', displayName: 'Bob' });
    };
    expect(await cache.resolve('U1', lookup)).toEqual({ email: 'bob@example.com', displayName: 'Bob' });
    await cache.resolve('U1', lookup);
    expect(lookups).toBe(1);
    clock.ms = 1001;
    await cache.resolve('U1', lookup);
    expect(lookups).toBe(2);
  });

  it('fails closed: a failing lookup gives no email, is reported, and is asked again next time', async () => {
    const failures: string[] = [];
    const cache = createIdentityCache(clockAt(0), (key) => failures.push(key));
    expect(await cache.resolve('U2', () => Promise.reject(new Error('platform down')))).toEqual(UNRESOLVED);
    expect(failures).toEqual(['U2']);
    expect(
      await cache.resolve('U2', () => Promise.resolve({ email: 'x@example.com', displayName: null })),
    ).toEqual({
      email: 'x@example.com',
      displayName: null,
    });
  });

  it('treats a blank email as none', async () => {
    const cache = createIdentityCache(clockAt(0), () => undefined);
    expect(
      await cache.resolve('U3', () => Promise.resolve({ email: '   ', displayName: 'No Mail' })),
    ).toEqual({
      email: null,
      displayName: 'No Mail',
    });
  });
});
