// countersign serve — run the server until SIGTERM or SIGINT, then shut down gracefully. A failed
// start-up exits 1 with one line naming the cause, whatever it left half-started.
import type { Command } from 'commander';
import { loadConfig } from '../../../server/src/config.ts';
import { startServer, type RunningServer } from '../../../server/src/main.ts';
import { guardUnhandledRejections } from '../../../server/src/observability/guard-unhandled-rejections.ts';
import { createLogger } from '../../../server/src/observability/logger.ts';
import { checkPortFree } from '../check-port-free.ts';
import { describeStartupFailure } from '../describe-startup-failure.ts';
import { stopOnSignals } from '../stop-on-signals.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server (embedded Postgres when DATABASE_URL is unset)')
    .action(async () => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL);
      guardUnhandledRejections(log);
      let server: RunningServer | undefined;

      // Listening before start-up, so a supervisor's early SIGTERM is not the default abrupt kill.
      stopOnSignals({
        log,
        deadlineMs: config.COUNTERSIGN_SHUTDOWN_DEADLINE_MS ?? config.COUNTERSIGN_SHUTDOWN_GRACE_MS + 15_000,
        close: () => server?.close(),
      });

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
