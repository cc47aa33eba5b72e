// The process lifecycle as a supervisor sees it: `npm start` stopped by SIGTERM (or SIGINT) to
// npm leaves no server behind, and each kind of start-up failure exits 1 within seconds with one
// line on stderr naming the cause.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, describeRun, freePort, killRunningClis, REPO_ROOT, runCli } from '../support/cli.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';

/** Pids whose parent is `ppid`, read from /proc (Linux). */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/PID/stat, after the parenthesised command name.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function isListening(port: number): Promise<boolean> {
  const socket = createConnection({ port, host: '127.0.0.1' });
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

interface NpmStart {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

function npmStart(env: NodeJS.ProcessEnv): NpmStart {
  // Its own process group, so cleanup after a failed test can reach whatever npm started.
  const child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, output: () => output, exited };
}

async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('npm start under a supervisor', { timeout: 240_000 }, () => {
  let database: TestDatabase | undefined;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'countersign-lifecycle-'));
    if (usingRealPostgres) database = await createTestDatabase();
  });
  afterEach(() => {
    for (const child of started.splice(0)) {
      if (child.pid && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
  afterAll(async () => {
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the npm process stops the server gracefully and leaves nothing listening`, async () => {
      const port = await freePort();
      const run = npmStart(
        cliEnv({
          DATABASE_URL: database?.url,
          COUNTERSIGN_DATA_DIR: dataDir,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
        }),
      );
      await waitFor(() => run.output().includes('countersign is listening'), 'the server to listen', 180_000);
      expect(await isListening(port)).toBe(true);
      const npmPid = run.child.pid ?? 0;
      const servers = childrenOf(npmPid);
      expect(servers.length, 'npm runs the server as its own child').toBeGreaterThan(0);

      const sentAt = Date.now();
      process.kill(npmPid, signal);
      const result = await run.exited;
      // npm waits for the server's graceful shutdown and reports its exit code.
      expect(result.code, run.output()).toBe(0);
      expect(run.output()).toContain('"msg":"received signal"');
      expect(run.output()).toContain('"msg":"shut down"');
      expect(Date.now() - sentAt).toBeLessThan(10_000 + 5_000);
      for (const pid of servers) expect(isAlive(pid), `pid ${pid} outlived npm`).toBe(false);
      expect(await isListening(port)).toBe(false);
    });
  }
});

describe('start-up failures exit 1 with one line naming the cause', { timeout: 120_000 }, () => {
  let dataDir: string;
  let blocker: Server | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'countersign-startup-'));
  });
  afterEach(async () => {
    await killRunningClis();
    if (blocker) await new Promise<void>((resolve) => blocker?.close(() => resolve()));
    blocker = undefined;
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const env = (vars: Record<string, string | undefined>) =>
    cliEnv({ COUNTERSIGN_DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...vars });

  function causeLine(stderr: string): string {
    const lines = stderr.split('\n').filter((l) => l.startsWith('countersign: '));
    expect(lines, stderr).toHaveLength(1);
    return lines[0] ?? '';
  }

  it('port already in use: exits 1 at once, before touching the database', async () => {
    blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const address = blocker.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    const startedAt = Date.now();
    // The database is unreachable too: a port check after the database wait would take 60 s.
    const result = await runCli(
      ['serve'],
      env({
        PORT: String(address.port),
        DATABASE_URL: 'postgresql://nobody@127.0.0.1:9/nowhere',
        COUNTERSIGN_DB_WAIT_MS: '60000',
      }),
    );
    expect(result.code, describeRun(result)).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(causeLine(result.stderr)).toBe(
      `countersign: cannot start: port ${address.port} on 127.0.0.1 is already in use (EADDRINUSE); ` +
        'stop the other process or set PORT',
    );
    expect(result.stdout).not.toContain('countersign is listening');
  });

  it('database unreachable: retries for COUNTERSIGN_DB_WAIT_MS, then exits 1 naming the database', async () => {
    const port = await freePort();
    const closedPort = await freePort();
    const result = await runCli(
      ['serve'],
      env({
        PORT: String(port),
        DATABASE_URL: `postgresql://someone:hunter2@127.0.0.1:${closedPort}/countersign_prod`,
        COUNTERSIGN_DB_WAIT_MS: '1500',
      }),
    );
    expect(result.code, describeRun(result)).toBe(1);
    const line = causeLine(result.stderr);
    expect(line).toMatch(
      new RegExp(
        `^countersign: cannot start: cannot reach the database countersign_prod on 127\\.0\\.0\\.1:${closedPort} ` +
          'after 2 s: .*ECONNREFUSED',
      ),
    );
    expect(result.stderr + result.stdout).not.toContain('hunter2');
    // It did retry, and said so in the log.
    expect(result.stdout).toContain('database not reachable yet');
    expect(await isListening(port)).toBe(false);
  });

  it('bad policy: exits 1, the first line names the policy, the next ones the problems', async () => {
    const policy = join(dataDir, 'bad-policy.yaml');
    await writeFile(policy, 'rules:\n  - name: x\n    actions: 5\n');
    const result = await runCli(
      ['serve'],
      env({ PORT: String(await freePort()), COUNTERSIGN_POLICY: policy }),
    );
    expect(result.code, describeRun(result)).toBe(1);
    expect(causeLine(result.stderr)).toBe(
      `countersign: cannot start: the policy is invalid: ${policy}: invalid policy`,
    );
    expect(result.stderr).toContain('line 3, column 14: rules[0].actions');
  });
});
