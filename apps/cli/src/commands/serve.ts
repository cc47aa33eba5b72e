// countersign serve — run the server until SIGTERM or SIGINT, then shut down gracefully.
import type { Command } from 'commander';
import { loadConfig } from '../../../server/src/config.ts';
import { startServer } from '../../../server/src/main.ts';
import { guardUnhandledRejections } from '../../../server/src/observability/guard-unhandled-rejections.ts';
import { createLogger } from '../../../server/src/observability/logger.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server (embedded Postgres when DATABASE_URL is unset)')
    .action(async () => {
      const config = loadConfig();
      const log = createLogger(config.LOG_LEVEL);
      guardUnhandledRejections(log);
      const server = await startServer({ config, log });
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          log.info({ signal }, 'received signal');
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          server.close().then(resolve, (error: unknown) => {
            log.error({ err: error }, 'shutdown failed');
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      // What outlived the grace period (a callback attempt still waiting on its receiver, whose job
      // was failed for a retry) must not hold the process open until its own timeout.
      process.exit();
    });
}
