#!/usr/bin/env node
// The `countersign` command. Runs the TypeScript sources through tsx, so there is no build step.
import { register } from 'tsx/esm/api';
import { DATABASE_COMMANDS, invokedCommand } from './invoked-command.js';

// PGlite's bundle loads before tsx's hooks, which it does not need: through them it cost ~37 MB
// of resident memory (measured on the server's import graph), plain ~5 MB and ~130 ms. Only
// commands that may open the embedded database pay for it; client commands start without it.
const command = invokedCommand(process.argv.slice(2));
if (command !== undefined && DATABASE_COMMANDS.has(command)) {
  await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
}
register();
await import('../src/main.ts');
