// One shutdown for any number of SIGINT and SIGTERM: a terminal's Ctrl-C reaches the server and
// npm alike, and npm forwards its own copy, so two signals arrive at once. The first starts the
// shutdown; later ones are logged and ignored (the default action would kill the process mid-way)
// until the hard deadline, when the process exits 1 saying that the shutdown did not finish.
import type { Logger } from '../../server/src/observability/logger.ts';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof SIGNALS)[number];
const SIGNAL_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };
/** After a clean shutdown, anything still holding the event loop (a stray socket) gets this long. */
const LINGER_AFTER_SHUTDOWN_MS = 2000;

export interface StopOnSignalsInput {
  log: Logger;
  /** From the first signal to the forced exit. */
  deadlineMs: number;
  /** The running server's close, or undefined while it is still starting. */
  close: () => Promise<void> | undefined;
}

export function stopOnSignals({ log, deadlineMs, close }: StopOnSignalsInput): void {
  let stopping = false;
  const stop = (signal: StopSignal) => {
    if (stopping) {
      log.warn({ signal }, 'received signal during shutdown: ignored, the shutdown goes on');
      return;
    }
    stopping = true;
    log.info({ signal }, 'received signal');
    const closing = close();
    if (!closing) {
      // Still starting: nothing serves yet, and migrations run in transactions.
      log.warn({ signal }, 'stopped during start-up');
      process.exit(SIGNAL_EXIT_CODES[signal]);
    }
    // The grace period bounds the drain; the rest (queue, pool) must not hang the process.
    const deadline = setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown did not finish in time: exiting');
      process.stderr.write(`countersign: shutdown did not finish within ${deadlineMs} ms: exiting with 1\n`);
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    closing.then(
      () => {
        clearTimeout(deadline);
        setTimeout(() => process.exit(process.exitCode ?? 0), LINGER_AFTER_SHUTDOWN_MS).unref();
      },
      (error: unknown) => {
        clearTimeout(deadline);
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // The handlers stay for the process's life: a signal without one would kill it at once.
  for (const signal of SIGNALS) process.on(signal, stop);
}
