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

export async function guardChatHandler(
  log: Logger,
  context: GuardContext,
  handler: () => Promise<void>,
  tell: (text: string) => Promise<unknown>,
): Promise<void> {
  try {
    await handler();
  } catch (error) {
    log.error({ err: error, ...context }, `chat ${context.handling} failed`);
    try {
      await tell(UNEXPECTED_FAILURE);
    } catch (tellError) {
      log.warn({ err: tellError, ...context }, 'could not tell the person that their action failed');
    }
  }
}
