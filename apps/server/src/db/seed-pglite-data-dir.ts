// Gives a new embedded data directory a copy of a freshly initialised Postgres cluster instead of
// letting PGlite run initdb in the server: initdb in WASM took most of the first start (~7 s quiet,
// 13–20 s on a loaded machine) and left a second PGlite instance's memory behind (~800 MB RSS).
// The pristine cluster is made once per PGlite version, in a worker thread whose memory goes
// away with it, and kept under node_modules/.cache (`npm install` makes it ahead of time).
import { randomBytes } from 'node:crypto';
import { access, cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../observability/logger.ts';

/** PGlite's CommonJS entry, by absolute path: the worker's eval'd code resolves nothing itself. */
const PGLITE_ENTRY = createRequire(import.meta.url).resolve('@electric-sql/pglite');
const CACHE_DIR = fileURLToPath(new URL('../../../../node_modules/.cache/countersign/', import.meta.url));

/** Runs in the worker: PGlite's own initdb into an empty directory, then a clean shutdown. */
const INITDB_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { PGlite } = require(workerData.entry);
PGlite.create(workerData.dir)
  .then((db) => db.close())
  .then(() => parentPort.postMessage('done'));
`;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function pgliteVersion(): Promise<string> {
  const manifest = join(dirname(PGLITE_ENTRY), '..', 'package.json');
  const parsed = JSON.parse(await readFile(manifest, 'utf8')) as { version?: unknown };
  if (typeof parsed.version !== 'string') throw new Error(`no version in ${manifest}`);
  return parsed.version;
}

function initdbInWorker(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(INITDB_WORKER, { eval: true, workerData: { entry: PGLITE_ENTRY, dir } });
    let done = false;
    worker.once('message', () => (done = true));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      done ? resolve() : reject(new Error(`PGlite initdb worker exited with ${code}`)),
    );
  });
}

/**
 * The pristine cluster for the installed PGlite, made if missing. Concurrent callers each build
 * their own and the first rename wins; the template is never opened by a server, only copied.
 */
export async function preparePgliteTemplate(cacheDir: string = CACHE_DIR): Promise<string> {
  const template = join(cacheDir, `pglite-${await pgliteVersion()}`);
  if (await exists(join(template, 'PG_VERSION'))) return template;
  await mkdir(cacheDir, { recursive: true });
  const building = `${template}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(building);
    await initdbInWorker(building);
    await rename(building, template).catch(async (error: unknown) => {
      if (!(await exists(join(template, 'PG_VERSION')))) throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return template;
}

/**
 * Puts a copy of the template at `pgdata` when there is nothing there yet; returns whether it did.
 * The copy lands under a temporary name first, so a crash mid-copy never leaves a directory that
 * looks like a cluster. Any failure (a read-only cache, no worker threads) leaves `pgdata`
 * untouched for PGlite's own initdb.
 */
export async function seedPgliteDataDir(pgdata: string, log: Logger): Promise<boolean> {
  if (await exists(pgdata)) return false;
  try {
    const template = await preparePgliteTemplate();
    const copying = `${pgdata}.${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await cp(template, copying, { recursive: true });
      await rename(copying, pgdata);
    } finally {
      await rm(copying, { recursive: true, force: true });
    }
    return (await stat(join(pgdata, 'PG_VERSION'))).isFile();
  } catch (error) {
    log.warn({ err: error }, 'no PGlite template to copy: PGlite runs initdb itself (slower first start)');
    return false;
  }
}
