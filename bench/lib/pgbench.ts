// pgbench, the baseline for database-bound benchmarks: runs a custom script from C clients and
// reports transactions per second and latency percentiles (from its per-transaction log).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile } from './bench-row.ts';

export const PGBENCH_MISSING =
  'pgbench not found, baseline skipped: install it with `apt-get install postgresql-contrib` (Debian/Ubuntu; on Debian 12 pgbench ships in postgresql-15, which that pulls in)';

export function hasPgbench(): boolean {
  return spawnSync('pgbench', ['--version'], { encoding: 'utf8' }).status === 0;
}

export interface PgbenchResult {
  tps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface PgbenchOptions {
  url: string;
  /** The script, one SQL statement per line; `:name` variables come from `\set` lines or `defines`. */
  script: string;
  clients: number;
  seconds: number;
  /** -D name=value */
  defines?: Record<string, string>;
}

/** Runs pgbench once; throws with its stderr when it fails. */
export function runPgbench(options: PgbenchOptions): PgbenchResult {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-pgbench-'));
  try {
    const script = join(dir, 'script.sql');
    writeFileSync(script, `${options.script.trim()}\n`);
    const args = [
      '-n',
      '-f',
      script,
      '-c',
      String(options.clients),
      '-j',
      String(Math.min(options.clients, 2)),
      '-T',
      String(options.seconds),
      '-l',
      '--log-prefix',
      join(dir, 'log'),
      ...Object.entries(options.defines ?? {}).flatMap(([name, value]) => ['-D', `${name}=${value}`]),
      options.url,
    ];
    const result = spawnSync('pgbench', args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    const tps = /tps = ([\d.]+)/.exec(result.stdout ?? '')?.[1];
    if (result.status !== 0 || !tps) {
      throw new Error(`pgbench failed (${result.status}): ${result.stderr || result.stdout}`);
    }
    // Log lines: client_id transaction_no time_us script_no time_epoch time_us_part
    const latencies = readdirSync(dir)
      .filter((name) => name.startsWith('log'))
      .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n'))
      .map((line) => Number(line.split(' ')[2]) / 1000)
      .filter((ms) => Number.isFinite(ms) && ms > 0);
    return {
      tps: Number(tps),
      p50Ms: latencies.length ? percentile(latencies, 50) : Number.NaN,
      p99Ms: latencies.length ? percentile(latencies, 99) : Number.NaN,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
