// Fails a test file whose code triggered a Node deprecation warning in this process (for example
// pg's "client.query() while the client is already executing a query"): they become errors later.
import { afterAll } from 'vitest';

const seen: string[] = [];
process.on('warning', (warning) => {
  if (warning.name === 'DeprecationWarning') seen.push(warning.message);
});

afterAll(() => {
  if (seen.length > 0) throw new Error(`deprecation warnings in this file:\n${seen.join('\n')}`);
});
