// Starts the real server (`countersign serve`, as `npm start` does) in a child process for a
// benchmark, waits for /readyz and measures the time that took; reads its resident memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { CLI_BIN, cliEnv, freePort, REPO_ROOT } from '../../test/support/cli.ts';

export interface ServerProcess {
  url: string;
  pid: number;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readyMs: number;
  /** Resident set size of the server process now, in bytes (Linux /proc). */
  rssBytes(): number;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** Unset for the embedded database. */
  databaseUrl?: string;
  env?: Record<string, string>;
  cwd?: string;
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}

export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  const port = await freePort();
  const env = cliEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...options.env });
  if (options.databaseUrl) env['DATABASE_URL'] = options.databaseUrl;
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_BIN, 'serve'], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + (options.readyTimeoutMs ?? 60_000);
  let readyMs: number | undefined;
  while (readyMs === undefined) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}: ${stderr}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server was not ready within ${options.readyTimeoutMs ?? 60_000} ms: ${stderr}`);
    }
    const ok = await fetch(`${url}/readyz`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ok) readyMs = performance.now() - started;
    else await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const pid = child.pid as number;
  return {
    url,
    pid,
    readyMs,
    rssBytes: () => rssOf(pid),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
