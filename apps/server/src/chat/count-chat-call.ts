// The one rule for countersign_chat_api_calls_total: a call to a chat platform's API counts once,
// `ok` if it answered, `rate_limited` if the platform's classifier says it was throttled, else
// `error`. The flush loop and the adapters' handlers (replies, look-ups, uploads) count through it.
import type { ChatApiCallCounter } from '../deps.ts';
import type { ChatPlatform } from '../approvals/channels.ts';

/** Runs `call` (one request to the platform's method `method`) and counts it by its outcome. */
export type CountChatCall = <T>(method: string, call: () => Promise<T>) => Promise<T>;

/** Tells a throttled call from any other failure, as the platform's transport classifies errors. */
export type ClassifyChatError = (error: unknown) => { kind: string };

/** The counting function for one platform; without a counter (tests that do not scrape) it only calls. */
export function countChatCalls(
  counter: ChatApiCallCounter | undefined,
  platform: ChatPlatform,
  classify: ClassifyChatError,
): CountChatCall {
  if (!counter) return (_method, call) => call();
  return async (method, call) => {
    try {
      const result = await call();
      counter.inc({ platform, method, result: 'ok' });
      return result;
    } catch (error) {
      const rateLimited = classify(error).kind === 'rate_limited';
      counter.inc({ platform, method, result: rateLimited ? 'rate_limited' : 'error' });
      throw error;
    }
  };
}
