import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputClosedError, writeChunk } from './write-stream.ts';

/** A Writable that accepts one chunk and then never finishes writing it: its buffer stays full. */
function stalled(): Writable {
  return new Writable({ highWaterMark: 1, write: () => undefined });
}

describe('writeChunk', () => {
  it('waits for drain, then resolves', async () => {
    const pending: (() => void)[] = [];
    const out = new Writable({ highWaterMark: 1, write: (_c, _e, done) => pending.push(done) });
    let resolved = false;
    const write = writeChunk(out, 'a').then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    pending.shift()?.();
    await write;
    expect(resolved).toBe(true);
  });

  it('fails instead of waiting forever when the output is destroyed while full', async () => {
    const out = stalled();
    const write = writeChunk(out, 'a');
    out.destroy();
    await expect(write).rejects.toBeInstanceOf(OutputClosedError);
    await expect(writeChunk(out, 'b')).rejects.toBeInstanceOf(OutputClosedError);
  });

  it('fails with the output’s error when it errors while full', async () => {
    const out = stalled();
    out.on('error', () => undefined);
    const write = writeChunk(out, 'a');
    out.destroy(new Error('EPIPE'));
    await expect(write).rejects.toThrow('EPIPE');
    await expect(writeChunk(out, 'b')).rejects.toThrow(/closed before the report was complete: EPIPE/);
  });
});
