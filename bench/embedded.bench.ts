// Embedded mode: `countersign serve` without DATABASE_URL (PGlite in ./.countersign of a fresh
// working directory) against the same server on real Postgres (a fresh, empty database): time to
// /readyz on a new and on an existing data directory, resident memory idle and after 1,000
// approval requests, and intake throughput at 8 connections.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createDatabase } from '../apps/server/src/db/client.ts';
import { findRunningEmbedded } from '../apps/server/src/db/embedded.ts';
import { createApiKey } from '../apps/server/src/keys/create-api-key.ts';
import { ADMIN_URL } from './bench-database.ts';
import { intakeBody } from './intake.bench.ts';
import { figureBelow, median, repeat, type BenchOptions, type BenchRow } from './lib/bench-row.ts';
import { runLoad } from './lib/http-load.ts';
import { startServer, type ServerProcess, type StartServerOptions } from './lib/server-process.ts';

const REQUESTS = 1_000;
const CONNECTIONS = 8;
const MB = 2 ** 20;

interface Round {
  readyMs: number;
  restartMs: number;
  idleMb: number;
  afterRequestsMb: number;
  rps: number;
}

/** Where a mode's server keeps its database, and how a key for it is made. */
export interface Mode {
  label: string;
  /** Starts the server, with extra node flags and environment when given. */
  start(extra?: Pick<StartServerOptions, 'nodeArgs' | 'env'>): Promise<ServerProcess>;
  /** The owner's URL while the server runs (the embedded database is reachable only through it). */
  databaseUrl(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function embeddedMode(): Promise<Mode> {
  const cwd = await mkdtemp(join(tmpdir(), 'countersign-bench-embedded-'));
  return {
    label: 'embedded',
    // No DATABASE_URL and no COUNTERSIGN_DATA_DIR: the default ./.countersign under a new directory.
    start: (extra = {}) => startServer({ ...extra, cwd }),
    async databaseUrl() {
      // The CLI (`countersign keys create` in the same directory) finds the server the same way.
      const url = await findRunningEmbedded(join(cwd, '.countersign'));
      if (!url) throw new Error(`no running embedded database in ${cwd}`);
      return url;
    },
    cleanup: () => rm(cwd, { recursive: true, force: true }),
  };
}

/** A new, empty database: the server applies the migrations itself, as on a new data directory. */
export async function postgresMode(): Promise<Mode> {
  const name = `countersign_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  return {
    label: 'postgres',
    start: (extra = {}) => startServer({ ...extra, databaseUrl }),
    databaseUrl: () => Promise.resolve(databaseUrl),
    cleanup: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** `count` approval requests over `connections` parallel clients, each waiting for its answer. */
export async function sendRequests(
  url: string,
  key: string,
  count: number,
  connections: number,
): Promise<void> {
  let next = 0;
  let failed = 0;
  const client = async () => {
    while (next < count) {
      next += 1;
      const response = await fetch(`${url}/v1/approvals`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: intakeBody(),
      });
      await response.arrayBuffer();
      if (!response.ok) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  if (failed > 0) throw new Error(`${failed} of ${count} approval requests failed`);
}

async function measureRound(make: () => Promise<Mode>, seconds: number, settleMs: number): Promise<Round> {
  const mode = await make();
  try {
    const server = await mode.start();
    let idleMb: number;
    let afterRequestsMb: number;
    let rps: number;
    try {
      await sleep(settleMs);
      idleMb = server.rssBytes() / MB;
      const db = createDatabase(await mode.databaseUrl(), { maxConnections: 1 });
      const { key } = await createApiKey(db, { name: 'bench' }).finally(() => db.close());
      await sendRequests(server.url, key, REQUESTS, CONNECTIONS);
      afterRequestsMb = server.rssBytes() / MB;
      const load = await runLoad({
        url: `${server.url}/v1/approvals`,
        method: 'POST',
        connections: CONNECTIONS,
        seconds,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        requestHeaders: () => ({ 'idempotency-key': randomUUID() }),
        body: intakeBody,
      });
      if (load.non2xx > 0 || load.errors > 0)
        console.log(`   ${mode.label}: ${load.non2xx} non-2xx answers, ${load.errors} errors`);
      rps = load.rps;
    } finally {
      await server.stop();
    }
    const restarted = await mode.start();
    await restarted.stop();
    const round = { readyMs: server.readyMs, restartMs: restarted.readyMs, idleMb, afterRequestsMb, rps };
    console.log(
      `   ${mode.label}: ready ${round.readyMs.toFixed(0)} ms (restart ${round.restartMs.toFixed(0)} ms), ` +
        `rss idle ${round.idleMb.toFixed(0)} MB, after ${REQUESTS} requests ${round.afterRequestsMb.toFixed(0)} MB, ` +
        `${round.rps.toFixed(0)} req/s at ${CONNECTIONS} connections`,
    );
    return round;
  } finally {
    await mode.cleanup();
  }
}

export async function benchEmbedded({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 3 : 10;
  const settleMs = quick ? 2_000 : 5_000;
  const embedded: Round[] = [];
  const postgres: Round[] = [];
  // Alternating, so both modes see the machine's load of the same minutes.
  await repeat(rounds, async () => {
    embedded.push(await measureRound(embeddedMode, seconds, settleMs));
    postgres.push(await measureRound(postgresMode, seconds, settleMs));
  });
  const pick = (rows: Round[], field: keyof Round) => median(rows.map((row) => row[field]));
  const note = 'baseline: the same server on Postgres (127.0.0.1:5432), a new empty database';
  const row = (name: string, field: keyof Round, unit: string, max: number) =>
    figureBelow({ name, figure: pick(embedded, field), unit, baseline: pick(postgres, field), note }, max);
  const rps = pick(embedded, 'rps');
  const baselineRps = pick(postgres, 'rps');
  return [
    row('embedded ready', 'readyMs', 'ms', 5_000),
    row('embedded ready (restart)', 'restartMs', 'ms', 5_000),
    row('embedded rss idle', 'idleMb', 'MB', 300),
    row(`embedded rss after ${REQUESTS} req`, 'afterRequestsMb', 'MB', 300),
    {
      name: 'embedded tps',
      figure: rps,
      unit: 'req/s',
      baseline: baselineRps,
      ratio: baselineRps ? rps / baselineRps : null,
      goal: 'ratio noted',
      pass: null,
      note: `intake at ${CONNECTIONS} connections; ${note}`,
    },
  ];
}
