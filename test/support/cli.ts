// Runs the real `countersign` command (apps/cli/bin/countersign.js) in a child process, with an
// environment built from scratch for the test, and keeps track of every process it starts so a
// test can kill whatever is left over.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI_BIN = fileURLToPath(new URL('../../apps/cli/bin/countersign.js', import.meta.url));

/** Variables the command reads (apps/server/src/config.ts); the test decides each of them. */
const CONFIG_PREFIXES = ['DATABASE_URL', 'PORT', 'HOST', 'LOG_LEVEL', 'COUNTERSIGN_', 'SLACK_', 'MICROSOFT_'];

/**
 * The environment for a CLI run: the current one without any countersign configuration, plus
 * `vars` (a variable set to undefined stays unset).
 */
export function cliEnv(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!CONFIG_PREFIXES.some((p) => name.startsWith(p))) env[name] = value;
  }
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** stdout split into JSON log lines (lines that are not JSON are skipped). */
  logLines(): Record<string, unknown>[];
  /** Resolves with the first stdout JSON line `match` accepts; rejects if the process exits first. */
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  exited: Promise<CliResult>;
}

const running = new Map<ChildProcess, Promise<CliResult>>();

function parseJsonLines(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        lines.push(parsed as Record<string, unknown>);
      }
    } catch {
      // a partial line; it is parsed once complete
    }
  }
  return lines;
}

/** Starts `countersign <args>` and returns at once; `input`, if given, is written to its stdin. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: {
    input?: string;
    /** Another entry point, e.g. the bundled server. */ bin?: string;
    /** The working directory; the repository unless given. */ cwd?: string;
    /** Another Node.js binary than the one running the tests (e.g. the oldest supported). */ node?: string;
  } = {},
): CliProcess {
  const child = spawn(options.node ?? process.execPath, [options.bin ?? CLI_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start countersign ${args.join(' ')}`);
  if (options.input !== undefined) child.stdin?.end(options.input);
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = (async (): Promise<CliResult> => {
    // 'close' comes after the exit and after stdout and stderr are drained.
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    running.delete(child);
    for (const wake of waiters) wake();
    return { code, signal, stdout, stderr };
  })();
  running.set(child, exited);
  let done = false;
  void exited.then(() => {
    done = true;
  });

  return {
    child,
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    logLines: () => parseJsonLines(stdout),
    exited,
    waitForLog(match) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = parseJsonLines(stdout).find(match);
          if (found) {
            waiters.delete(check);
            resolve(found);
          } else if (done || child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(
              new Error(
                `countersign ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) ` +
                  `before the expected log line\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Runs `countersign <args>` to completion. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { input?: string; cwd?: string; bin?: string; node?: string } = {},
): Promise<CliResult> {
  return startCli(args, env, options).exited;
}

/** Kills (SIGKILL) every CLI process started through this module that is still running. */
export async function killRunningClis(): Promise<void> {
  const left = [...running.entries()];
  for (const [child] of left) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await Promise.all(left.map(([, exited]) => exited));
}

/** A TCP port that was free a moment ago (listen on 0, read the port, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return address.port;
}

/** Describes a finished run for assertion messages. */
export function describeRun(result: CliResult): string {
  return `exit ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}
