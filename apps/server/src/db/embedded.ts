// Embedded Postgres for zero-setup runs: PGlite (Postgres compiled to WASM) with its data under
// the data directory, served over the Postgres wire protocol on a loopback port so the same
// Prisma/pg code paths work as against a real server. A lock file tells other countersign
// processes (the CLI) where to connect while a server holds the database.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from '../observability/logger.ts';
import { PgliteSessionQueue } from './pglite-session-queue.ts';
import { seedPgliteDataDir } from './seed-pglite-data-dir.ts';

/**
 * pglite-socket defaults to one connection; beyond the limit it closes a new connection at once
 * ("Server has closed the connection"). One server holds its pool, pg-boss's pool and a LISTEN
 * connection; a CLI beside it, or a second server on the same data (a restart that overlaps, the
 * tests' replicas) adds as many again. Each costs a socket and a handler: the backend is shared.
 */
const MAX_SOCKET_CONNECTIONS = 100;

/**
 * Postgres settings for every start (command-line options, so postgresql.conf stays initdb's).
 * shared_buffers: PGlite's 128 MB default is zeroed at start and grew the WASM heap to ~190 MB,
 * ~120 MB of resident memory; the data of a zero-setup install is small and a miss costs a read
 * from the OS page cache, which the process's RSS does not carry. wal_buffers keeps the 4 MB the
 * default would derive from 128 MB: at 512 kB intake cost ~25 % more CPU per request.
 */
const START_PARAMS = ['-c', 'shared_buffers=16MB', '-c', 'wal_buffers=4MB'];

/**
 * V8 re-compiles hot WASM functions with TurboFan; for PGlite that cost ~40 MB of resident memory
 * at start and ~60 MB after some work, and more CPU than it saved: 15,000 inserts took 9.6 s of CPU
 * with tier-up and 8.6 s on the baseline compiler alone, and the server's intake 17.0 against
 * 15.2 ms of CPU per request. Process-wide (Prisma's query compiler is WASM too), which measured
 * the same or better; set before the module is compiled, so the flag applies to it.
 */
function useBaselineWasmCompiler(): void {
  setFlagsFromString('--liftoff-only');
}

/**
 * V8's --optimize-for-size, set at run time (a process cannot give itself node flags): the JS heap
 * grows less ahead of what it holds and is given back sooner. Measured on `countersign serve`
 * (docs/develop/performance.md, "Embedded memory"): the heap's committed size stayed 49–69 MB
 * for 44–46 MB in use instead of 80–115 MB, 30–70 MB less resident memory. Server CPU per request
 * without and with it, two pairs of runs: 6.0 → 6.6 and 6.8 → 6.6 ms (within the noise of a busy
 * machine). Only where PGlite runs in the process: a server on Postgres keeps V8's defaults.
 */
function useSmallHeap(): void {
  setFlagsFromString('--optimize-for-size');
}

export interface EmbeddedPostgres {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

interface LockContent {
  pid: number;
  url: string;
}

function lockPath(dataDir: string): string {
  return join(dataDir, 'embedded.lock.json');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long to wait for another process that is still initialising the embedded database. */
const STARTUP_WAIT_MS = 120_000;

async function readLock(dataDir: string): Promise<LockContent | undefined> {
  try {
    return JSON.parse(await readFile(lockPath(dataDir), 'utf8')) as LockContent;
  } catch {
    return undefined; // no lock file, or one being rewritten
  }
}

/**
 * The URL of an embedded database another live process serves from this data directory. A
 * process that holds the lock but has not published its URL yet is still starting: wait for it.
 */
export async function findRunningEmbedded(dataDir: string): Promise<string | undefined> {
  const deadline = Date.now() + STARTUP_WAIT_MS;
  for (;;) {
    const lock = await readLock(dataDir);
    if (!lock || lock.pid === process.pid || !isAlive(lock.pid)) return undefined;
    if (lock.url) return lock.url;
    if (Date.now() > deadline) return undefined;
    await sleep(200);
  }
}

/**
 * Swaps pglite-socket's message queue for one that keeps protocol batches whole (see
 * pglite-session-queue.ts). The field is private upstream: fail loudly if it ever moves.
 */
function useSessionQueue(server: PGLiteSocketServer, db: PGlite): void {
  const internals = server as unknown as { queryQueue?: unknown };
  if (internals.queryQueue === undefined) {
    throw new Error('@electric-sql/pglite-socket changed: PGLiteSocketServer has no queryQueue to replace');
  }
  internals.queryQueue = new PgliteSessionQueue(db);
}

export class EmbeddedInUseError extends Error {
  override name = 'EmbeddedInUseError';
}

export async function startEmbeddedPostgres(dataDirInput: string, log: Logger): Promise<EmbeddedPostgres> {
  const dataDir = resolve(dataDirInput);
  await mkdir(dataDir, { recursive: true });
  const running = await findRunningEmbedded(dataDir);
  if (running) {
    throw new EmbeddedInUseError(
      `another countersign process is serving the embedded database in ${dataDir} (${running}); stop it first`,
    );
  }
  // Claim the directory before opening it: two PGlite instances on one directory corrupt it.
  const lock = lockPath(dataDir);
  await rm(lock, { force: true });
  await writeFile(lock, JSON.stringify({ pid: process.pid, url: '' }), { flag: 'wx' });

  const pgdata = join(dataDir, 'pgdata');
  if (await seedPgliteDataDir(pgdata, log))
    log.info({ pgdata }, 'new embedded database from the PGlite template');
  useBaselineWasmCompiler();
  useSmallHeap();
  const db = await PGlite.create(pgdata, { startParams: [...PGlite.defaultStartParams, ...START_PARAMS] });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: MAX_SOCKET_CONNECTIONS,
  });
  useSessionQueue(server, db);
  await server.start();
  const url = `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  await writeFile(lock, JSON.stringify({ pid: process.pid, url } satisfies LockContent));
  log.info({ dataDir, url }, 'DATABASE_URL is not set: using the embedded Postgres (PGlite)');

  let stopped = false;
  return {
    url,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      await rm(lock, { force: true });
    },
  };
}
