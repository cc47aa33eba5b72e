// countersign serve — run the server until SIGTERM or SIGINT, then shut down gracefully. A failed
// start-up exits 1 with one line naming the cause, whatever it left half-started.
import type { Command } from 'commander';
import { loadConfig } from '../../../server/src/config.ts';
import { startServer, type RunningServer } from '../../../server/src/main.ts';
import { guardUnhandledRejections } from '../../../server/src/observability/guard-unhandled-rejections.ts';
import { createLogger } from '../../../server/src/observability/logger.ts';
import { checkPortFree } from '../check-port-free.ts';
import { describeStartupFailure } from '../describe-startup-failure.ts';

const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };
/** After a clean shutdown, anything still holding the event loop (a stray socket) gets this long. */
const LINGER_AFTER_SHUTDOWN_MS = 2000;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server (embedded Postgres when DATABASE_URL is unset)')
    .action(async () => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL);
      guardUnhandledRejections(log);
      let server: RunningServer | undefined;

      const stop = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'received signal');
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        if (!server) {
          // Still starting: nothing serves yet, and migrations run in transactions.
          log.warn({ signal }, 'stopped during start-up');
          process.exit(SIGNAL_EXIT_CODES[signal] ?? 1);
        }
        // The grace period bounds the drain; the rest (queue, pool) must not hang the process.
        const deadline = setTimeout(() => {
          log.error('shutdown did not finish in time: exiting');
          process.exit(1);
        }, config.COUNTERSIGN_SHUTDOWN_GRACE_MS + 15_000);
        deadline.unref();
        server.close().then(
          () => {
            clearTimeout(deadline);
            setTimeout(() => process.exit(process.exitCode ?? 0), LINGER_AFTER_SHUTDOWN_MS).unref();
          },
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      // Listening before start-up, so a supervisor's early SIGTERM is not the default abrupt kill.
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);

      try {
        await checkPortFree(config.PORT, config.HOST);
        server = await startServer({ config, log, secretEnv: process.env });
      } catch (error) {
        const cause = describeStartupFailure(error, config);
        log.error({ err: error }, `start-up failed: ${cause.split('\n')[0] ?? cause}`);
        console.error(`countersign: cannot start: ${cause}`);
        // Whatever started before the failure (pool, queue, feed) would keep the process alive.
        process.exit(1);
      }
    });
}
