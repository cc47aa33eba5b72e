// Loggers for tests: silent, or capturing lines so a test can read what would have been logged.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../apps/server/src/observability/logger.ts';

export function silentLogger(): Logger {
  return createLogger('silent');
}

export interface CapturedLog {
  log: Logger;
  lines(): Record<string, unknown>[];
  text(): string;
}

export function capturingLogger(level = 'debug'): CapturedLog {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const log = createLogger(level, sink);
  const text = () => chunks.join('');
  return {
    log,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
