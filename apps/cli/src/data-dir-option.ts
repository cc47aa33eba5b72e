// The global --data-dir option: the embedded database's directory for this one command. It is
// put into the environment before any command reads its configuration, so it means exactly what
// COUNTERSIGN_DATA_DIR means, for `serve` and every database command alike.
import { resolve } from 'node:path';
import { CliError } from './cli-error.ts';

export async function applyDataDirOption(dataDir: string | undefined): Promise<void> {
  if (dataDir === undefined) return;
  if (!dataDir.trim()) throw new CliError('--data-dir must not be empty', 2);
  // Loaded only here: the configuration's schema (zod) is not for commands that do not need it.
  const { loadConfig } = await import('../../server/src/config.ts');
  if (loadConfig().DATABASE_URL) {
    throw new CliError(
      '--data-dir names an embedded database, but DATABASE_URL is set and would be used instead: ' +
        'unset DATABASE_URL or leave out --data-dir',
      2,
    );
  }
  process.env['COUNTERSIGN_DATA_DIR'] = resolve(dataDir);
}
