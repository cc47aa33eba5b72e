// The error boundary at the chat edge: an unexpected failure in a click or command handler is
// logged with its stack and the person is told, privately, that nothing was recorded. Never silent.
import type { Logger } from '../observability/logger.ts';
import { UNEXPECTED_FAILURE } from './refusal-text.ts';

export interface GuardContext {
  platform: string;
  /** What was being handled, for the log line: "approve click", "report command", … */
  handling: string;
  userId?: string | undefined;
}

/**
 * Runs `handler`; if it throws, logs the error at error level and answers with `tell`, which gets
 * the sentence for the person. A failure of `tell` itself is logged too. Returns what answered.
 */
export async function guardChatHandler<T>(
  log: Logger,
  context: GuardContext,
  handler: () => Promise<T>,
  tell: (text: string) => Promise<T>,
): Promise<T | undefined> {
  try {
    return await handler();
  } catch (error) {
    log.error({ err: error, ...context }, `chat ${context.handling} failed`);
    try {
      return await tell(UNEXPECTED_FAILURE);
    } catch (tellError) {
      log.warn({ err: tellError, ...context }, 'could not tell the person that their action failed');
      return undefined;
    }
  }
}
