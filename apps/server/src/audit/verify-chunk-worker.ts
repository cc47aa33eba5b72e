// A worker thread of the parallel chain walk (walk-in-workers.ts): checks the chunks it is sent
// with a ChainWalk resumed at the chunk's seam, and answers with the first problem or null.
import { parentPort, workerData } from 'node:worker_threads';
import { ChainWalk } from './chain-walk.ts';
import { eventKeysFrom } from './event-key.ts';
import type { FromWorker, ToWorker, WorkerData } from './walk-in-workers.ts';

const data = workerData as WorkerData;
const port = parentPort;
if (!port) throw new Error('verify-chunk-worker runs as a worker thread');

const keys = eventKeysFrom(data.keyRows, data.signingRows[0]);

port.on('message', ({ id, rows, state }: ToWorker) => {
  const walk = new ChainWalk(keys, data.start, state);
  for (const row of rows) {
    // The payload comes as jsonb's text: parsed here, as pg would have on the main thread.
    row[4] = JSON.parse(row[4] as string) as unknown;
    if (!walk.check(row)) break;
  }
  port.postMessage({ kind: 'done', id, problem: walk.problem } satisfies FromWorker);
});
port.postMessage({ kind: 'ready' } satisfies FromWorker);
