// countersign migrate — apply pending database migrations.
import type { Command } from 'commander';
import { loadConfig } from '../../../server/src/config.ts';
import { migrate } from '../../../server/src/db/migrate.ts';
import { resolveDatabaseUrl } from '../../../server/src/db/resolve-database-url.ts';
import { cliLogger } from '../database-session.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => {
      const config = loadConfig();
      const log = cliLogger();
      const resolved = await resolveDatabaseUrl(config, log);
      try {
        const result = await migrate(resolved.url, log);
        for (const name of result.applied) console.log(`applied ${name}`);
        console.log(
          result.applied.length === 0
            ? `database is up to date (${result.alreadyApplied.length} migrations applied)`
            : `${result.applied.length} migration(s) applied`,
        );
      } finally {
        await resolved.release();
      }
    });
}
