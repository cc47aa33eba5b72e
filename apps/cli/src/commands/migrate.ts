// countersign migrate — apply pending database migrations, then create or update the runtime role.
import type { Command } from 'commander';
import { loadConfig } from '../../../server/src/config.ts';
import { migrate } from '../../../server/src/db/migrate.ts';
import { prepareRuntimeRole } from '../../../server/src/db/runtime-role.ts';
import { cliLogger, openCommandDatabase } from '../database-session.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      'apply pending database migrations as the DATABASE_URL user, then create or update the runtime role the server runs as',
    )
    .action(async () => {
      const config = loadConfig();
      const log = cliLogger();
      const resolved = await openCommandDatabase(config, log);
      try {
        const result = await migrate(resolved.url, log);
        for (const name of result.applied) console.log(`applied ${name}`);
        console.log(
          result.applied.length === 0
            ? `database is up to date (${result.alreadyApplied.length} migrations applied)`
            : `${result.applied.length} migration(s) applied`,
        );
        const role = config.COUNTERSIGN_RUNTIME_ROLE;
        if (resolved.embedded) console.log('embedded database: no runtime role (PGlite shares one session)');
        else if (role === 'off') console.log('runtime role off (COUNTERSIGN_RUNTIME_ROLE=off)');
        else {
          const status = await prepareRuntimeRole(resolved.url, role, log);
          console.log(
            status.ready
              ? `runtime role ${status.role} is up to date`
              : `runtime role not set up: ${status.reason}`,
          );
        }
      } finally {
        await resolved.release();
      }
    });
}
