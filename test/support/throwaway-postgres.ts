// A Postgres cluster of a test's own (initdb + pg_ctl on a free port, data in a temporary folder),
// so fault tests can stop, restart and kill the database without touching the shared one.
// initdb refuses to run as root: when the test runs as root, the cluster runs as the `postgres`
// OS user through runuser, in a folder that user owns.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './cli.ts';
import { withPgClient } from './api-fixtures.ts';

const run = promisify(execFile);

/** The newest Postgres server binaries on this machine, or undefined (then fault tests skip). */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

export interface ThrowawayPostgres {
  port: number;
  /** A database URL on this cluster (database `postgres` unless named). */
  url(database?: string): string;
  /** `pg_ctl restart -m fast`: every connection is cut (57P01), the server is back when it returns. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`: connections are cut and new ones refused until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster and removes its folder. */
  destroy(): Promise<void>;
}

interface OsUser {
  uid: number;
  gid: number;
}

async function postgresOsUser(): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()) };
}

export async function startThrowawayPostgres(bin: string): Promise<ThrowawayPostgres> {
  const osUser = await postgresOsUser();
  const dir = await mkdtemp(join(tmpdir(), 'countersign-faults-'));
  if (osUser) await chown(dir, osUser.uid, osUser.gid);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const port = await freePort();
  const asOwner = (command: string, args: string[]) =>
    osUser
      ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { cwd: dir })
      : run(join(bin, command), args, { cwd: dir });

  await asOwner('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  // Loopback only, no unix socket outside the folder, quick shutdown checkpoints.
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c full_page_writes=off`;
  const pgCtl = (action: string, extra: string[] = []) =>
    asOwner('pg_ctl', [action, '-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '30', ...extra]);

  await pgCtl('start');
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  let running = true;
  return {
    port,
    url,
    async restart() {
      await pgCtl('restart', ['-m', 'fast']);
      running = true;
    },
    async stop() {
      await pgCtl('stop', ['-m', 'fast']);
      running = false;
    },
    async start() {
      await pgCtl('start');
      running = true;
    },
    async destroy() {
      if (running) await pgCtl('stop', ['-m', 'immediate']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates a database on the cluster and returns its URL. */
export async function createClusterDatabase(cluster: ThrowawayPostgres, name: string): Promise<string> {
  await withPgClient(cluster.url(), (client) => client.query(`CREATE DATABASE "${name}"`));
  return cluster.url(name);
}
