#!/usr/bin/env node
// The `countersign` command. Runs the built JavaScript (apps/cli/dist/, from `npm run build`, run
// at `prepare` and `prepack`) while it is at least as new as every source it was built from;
// otherwise the TypeScript sources: through Node's own type stripping for the client commands
// where Node has it (22.18+, 24), through tsx for everything else.
import { builtEntry } from './built-entry.js';
import { CLIENT_COMMANDS, DATABASE_COMMANDS, invokedCommand } from './invoked-command.js';

const args = process.argv.slice(2);
const command = invokedCommand(args);
const versionOnly = args.length === 1 && (args[0] === '--version' || args[0] === '-V');
const built = builtEntry();

if (built) {
  await import(built.href);
} else if (
  process.features.typescript &&
  (versionOnly || (command !== undefined && CLIENT_COMMANDS.has(command)))
) {
  // A pipeline runs the client commands on every gated step: loading tsx alone cost more than a
  // second on a busy machine. Their sources use erasable TypeScript only, which Node runs as it is.
  // Some Node versions announce type stripping as experimental on stderr, which a pipeline's log
  // does not need; every other warning still prints.
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = (warning, ...rest) => {
    if (!String(warning instanceof Error ? warning.message : warning).includes('Type Stripping')) {
      emitWarning(warning, ...rest);
    }
  };
  await import('../src/main.ts');
} else {
  // PGlite's bundle loads before tsx's hooks, which it does not need: through them it cost ~37 MB
  // of resident memory (measured on the server's import graph), plain ~5 MB and ~130 ms. Only
  // commands that may open the embedded database pay for it.
  if (command !== undefined && DATABASE_COMMANDS.has(command)) {
    await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
