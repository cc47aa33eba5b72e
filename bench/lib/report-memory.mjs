// Preloaded into a benchmarked server (node --import): writes where its memory is to the file
// COUNTERSIGN_BENCH_MEMORY_FILE names, every 100 ms: process.memoryUsage() in bytes and the size of
// every WebAssembly memory the process instantiated (PGlite's Postgres heap, Prisma's query
// compiler), so a growth of resident memory can be told apart as JS heap, buffers or WASM heap.
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.COUNTERSIGN_BENCH_MEMORY_FILE;
if (file) {
  const memories = [];
  const remember = (result) => {
    const instance = result instanceof WebAssembly.Instance ? result : result?.instance;
    for (const value of Object.values(instance?.exports ?? {}))
      if (value instanceof WebAssembly.Memory) memories.push(value);
    return result;
  };
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (...args) => instantiate.apply(WebAssembly, args).then(remember);
  const instantiateStreaming = WebAssembly.instantiateStreaming;
  if (instantiateStreaming)
    WebAssembly.instantiateStreaming = (...args) =>
      instantiateStreaming.apply(WebAssembly, args).then(remember);
  const OriginalMemory = WebAssembly.Memory;
  WebAssembly.Memory = function Memory(descriptor) {
    const memory = new OriginalMemory(descriptor);
    memories.push(memory);
    return memory;
  };
  WebAssembly.Memory.prototype = OriginalMemory.prototype;
  // Written beside and renamed over the file, so a reader never sees it half written.
  const write = () => {
    writeFileSync(
      `${file}.next`,
      JSON.stringify({
        ...process.memoryUsage(),
        wasm: [...new Set(memories)].map((memory) => memory.buffer.byteLength),
      }),
    );
    renameSync(`${file}.next`, file);
  };
  write();
  setInterval(write, 100).unref();
  // With --expose-gc, SIGUSR2 collects garbage first: what stays is what the process holds on to.
  process.on('SIGUSR2', () => {
    globalThis.gc?.();
    write();
  });
}
