// Writing to a Writable with backpressure: wait for 'drain' when its buffer is full, and fail
// (instead of waiting forever) when the output errors or is closed, e.g. a client that went away.
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export class OutputClosedError extends Error {
  constructor(cause?: Error | null) {
    super(`the report's output closed before the report was complete${cause ? `: ${cause.message}` : ''}`, {
      cause,
    });
    this.name = 'OutputClosedError';
  }
}

export async function writeChunk(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new OutputClosedError(out.errored);
  if (out.write(chunk)) return;
  const stop = new AbortController();
  try {
    await Promise.race([
      once(out, 'drain', { signal: stop.signal }),
      once(out, 'close', { signal: stop.signal }).then(() => {
        throw new OutputClosedError(out.errored);
      }),
    ]);
  } finally {
    stop.abort();
  }
}
