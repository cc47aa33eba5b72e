// The chain walk spread over worker threads: the chain is read in chunks through a cursor (so
// memory holds a few chunks, not the chain), each chunk is checked by a worker with a ChainWalk
// that starts from the stored hash and seq of the chunk before it, and the results are taken in
// chunk order. The first chunk that finds a problem gives the answer, and its walk began where
// the serial one would have been: the seam's link is the first thing it checks. So the result is
// the serial walk's, event counts and all.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readEventKeyRows } from './chain-store.ts';
import type { ReadSnapshot } from '../db/read-snapshot.ts';
import { closeChainCursor, fetchChainChunk, openChainCursor } from './chain-verify-store.ts';
import type { ChainBreak, ChainRange, ChainWalk, EventRow, WalkState } from './chain-walk.ts';

/** Events per chunk: big enough that a message costs little beside hashing it. */
const CHUNK_EVENTS = 8_000;

/** Runs in the worker: TypeScript through tsx (as the CLI does), then the worker module. */
const BOOT = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.tsx)
  .then((api) => api.register())
  .then(() => import(workerData.entry))
  .catch((error) => parentPort.postMessage({ kind: 'failed', message: String(error && error.message) }));
`;

/** tsx's ESM API by URL (the worker's eval'd code resolves nothing itself). */
function tsxApiUrl(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api');
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

export interface WorkerData {
  tsx: string;
  entry: string;
  /** The rows readEventKeyRows reads, so that a worker builds the same keys. */
  keyRows: unknown[];
  signingRows: unknown[];
  start: { startSeq: string; prevHash: string; ranged: boolean };
}

export type ToWorker = { id: number; rows: EventRow[]; state: WalkState };
export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'done'; id: number; problem: ChainBreak | null };

/** How many workers by default: one per core the process may use. */
export function defaultVerifyWorkers(): number {
  return Math.max(1, availableParallelism());
}

class ChunkWorker {
  private readonly pending = new Map<number, (problem: ChainBreak | null) => void>();
  private failure: Error | undefined;
  readonly ready: Promise<void>;

  constructor(private readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.kind === 'ready') resolve();
        else if (message.kind === 'failed') this.fail(new Error(message.message), reject);
        else {
          this.pending.get(message.id)?.(message.problem);
          this.pending.delete(message.id);
        }
      });
      worker.on('error', (error) => this.fail(error, reject));
      worker.on('exit', (code) => this.fail(new Error(`a verify worker exited with ${code}`), reject));
    });
    this.ready.catch(() => undefined);
  }

  private fail(error: Error, reject: (error: Error) => void): void {
    this.failure ??= error;
    reject(error);
    for (const settle of this.rejecters) settle(error);
    this.rejecters.clear();
  }

  private readonly rejecters = new Set<(error: Error) => void>();

  check(task: ToWorker): Promise<ChainBreak | null> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.rejecters.add(reject);
      this.pending.set(task.id, (problem) => {
        this.rejecters.delete(reject);
        resolve(problem);
      });
      this.worker.postMessage(task);
    });
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Walks the chain (or `range`) on `count` workers into `walk`, as ChainWalk.check over every
 * event would. When the workers cannot start, why (the caller then walks on its own thread);
 * a worker failing later rejects.
 */
export async function walkInWorkers(
  client: ReadSnapshot,
  range: ChainRange | undefined,
  count: number,
  walk: ChainWalk,
  onProgress?: (events: number) => void,
  chunkEvents = CHUNK_EVENTS,
): Promise<true | string> {
  let tsx: string;
  try {
    tsx = tsxApiUrl();
  } catch (error) {
    return `tsx is not found (${error instanceof Error ? error.message : String(error)})`;
  }
  const { keyRows, signingRows } = await readEventKeyRows(client);
  const initial = walk.state;
  const data: WorkerData = {
    tsx,
    entry: new URL('./verify-chunk-worker.ts', import.meta.url).href,
    keyRows,
    signingRows,
    start: {
      startSeq: range?.fromSeq ?? '1',
      prevHash: initial.previousHash,
      ranged: range !== undefined,
    },
  };
  const workers = Array.from(
    { length: count },
    () => new ChunkWorker(new Worker(BOOT, { eval: true, workerData: data })),
  );
  try {
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (error) {
      return `the workers did not start (${error instanceof Error ? error.message : String(error)})`;
    }
    await openChainCursor(client, range);
    const inFlight: { promise: Promise<ChainBreak | null>; after: WalkState }[] = [];
    let state = initial;
    let id = 0;
    let problem: ChainBreak | null = null;
    const settleOldest = async () => {
      const oldest = inFlight.shift();
      if (!oldest) return;
      problem = await oldest.promise;
      if (!problem) onProgress?.(oldest.after.events);
    };
    for (;;) {
      const rows = await fetchChainChunk(client, chunkEvents);
      if (rows.length === 0) break;
      const last = rows[rows.length - 1] as EventRow;
      const after: WalkState = {
        previousSeq: last[0],
        previousHash: last[7],
        firstSeq: state.firstSeq ?? (rows[0] as EventRow)[0],
        events: state.events + rows.length,
      };
      const worker = workers[id % workers.length] as ChunkWorker;
      inFlight.push({ promise: worker.check({ id, rows, state }), after });
      id += 1;
      state = after;
      while (inFlight.length >= workers.length * 2 && problem === null) await settleOldest();
      if (problem) break;
    }
    while (inFlight.length > 0 && problem === null) await settleOldest();
    // Chunks after a problem are not waited for (the workers are stopped below).
    for (const rest of inFlight) rest.promise.catch(() => undefined);
    await closeChainCursor(client);
    if (problem) walk.problem = problem;
    else walk.resume(state);
    return true;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
