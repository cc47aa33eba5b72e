// The last line of defence of a serving process: a promise rejection nobody handled is logged at
// error and the process keeps serving. Every known source is handled where it arises (the job
// worker loop, the status feed, the sweeper, the pools); the fault tests assert this never fires.
import type { Logger } from './logger.ts';

export const UNHANDLED_REJECTION_MESSAGE = 'unhandled promise rejection (kept serving)';

/** Installs the guard; returns a function that removes it. */
export function guardUnhandledRejections(log: Logger): () => void {
  const onRejection = (reason: unknown) => {
    log.error({ err: reason }, UNHANDLED_REJECTION_MESSAGE);
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
