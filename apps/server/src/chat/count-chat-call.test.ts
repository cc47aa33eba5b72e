// The chat call counting rule: ok, rate_limited (as the platform classifies it) or error, once per call.
import { describe, expect, it } from 'vitest';
import { countChatCalls } from './count-chat-call.ts';

type Labels = { platform: string; method: string; result: string };

class Throttled extends Error {}

const classify = (error: unknown) => ({ kind: error instanceof Throttled ? 'rate_limited' : 'transient' });

describe('countChatCalls', () => {
  it('counts an answer as ok, a throttled call as rate_limited, any other failure as error', async () => {
    const counted: Labels[] = [];
    const count = countChatCalls({ inc: (labels) => counted.push(labels) }, 'slack', classify);

    await expect(count('users.info', () => Promise.resolve('answer'))).resolves.toBe('answer');
    const throttled = new Throttled('429');
    await expect(count('views.open', () => Promise.reject(throttled))).rejects.toBe(throttled);
    const broken = new Error('500');
    await expect(count('chat.postEphemeral', () => Promise.reject(broken))).rejects.toBe(broken);

    expect(counted).toEqual([
      { platform: 'slack', method: 'users.info', result: 'ok' },
      { platform: 'slack', method: 'views.open', result: 'rate_limited' },
      { platform: 'slack', method: 'chat.postEphemeral', result: 'error' },
    ]);
  });

  it('only calls when nothing counts (no metrics)', async () => {
    const count = countChatCalls(undefined, 'teams', classify);
    await expect(count('replyToActivity', () => Promise.resolve(1))).resolves.toBe(1);
    await expect(count('replyToActivity', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
  });
});
