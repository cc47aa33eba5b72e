// Module hooks for tests that ask which modules a command loaded: every resolved URL is appended
// to the file named by COUNTERSIGN_TEST_MODULE_LOG. Runs on Node's hooks thread.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  const log = process.env.COUNTERSIGN_TEST_MODULE_LOG;
  if (log) appendFileSync(log, `${result.url}\n`);
  return result;
}
