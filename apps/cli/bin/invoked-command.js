// Which top-level command a `countersign` command line runs, read before anything is loaded, so
// that only that command's code is: the first argument that is not an option, skipping the value
// of the global --data-dir. Undefined for `countersign`, `countersign --help`, `--version`.
/** @param {readonly string[]} args process.argv without the node binary and the script */
export function invokedCommand(args) {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === '--') return args[i + 1];
    if (arg === '--data-dir') {
      i += 1;
      continue;
    }
    if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** Commands that may open the embedded database (PGlite); the others never load it. */
export const DATABASE_COMMANDS = new Set(['serve', 'migrate', 'keys', 'grants', 'scim', 'audit', 'policy']);

/** Commands that only talk to a server over HTTP (or run locally) and load nothing of it. */
export const CLIENT_COMMANDS = new Set(['request', 'hook', 'delegates']);
