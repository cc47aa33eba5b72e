// The global --data-dir option: the embedded database's directory for this one command. It is
// put into the environment before any command reads its configuration, so it means exactly what
// COUNTERSIGN_DATA_DIR means, for `serve` and every database command alike.
import { resolve } from 'node:path';
import { loadConfig } from '../../server/src/config.ts';
import { CliError } from './cli-error.ts';

export function applyDataDirOption(dataDir: string | undefined): void {
  if (dataDir === undefined) return;
  if (!dataDir.trim()) throw new CliError('--data-dir must not be empty', 2);
  if (loadConfig().DATABASE_URL) {
    throw new CliError(
      '--data-dir names an embedded database, but DATABASE_URL is set and would be used instead: ' +
        'unset DATABASE_URL or leave out --data-dir',
      2,
    );
  }
  process.env['COUNTERSIGN_DATA_DIR'] = resolve(dataDir);
}
