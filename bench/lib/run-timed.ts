// Runs a command to its end and times it from outside (wall clock), for benchmarks whose subject
// is a whole command: `countersign audit verify`, `psql -c "\copy …"`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../apps/cli/bin/countersign.js', import.meta.url));

export interface TimedRun {
  seconds: number;
  stdout: string;
  stderr: string;
}

/** The environment without the service's own settings, plus `env` (so the shell's config cannot leak in). */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(DATABASE_URL|LOG_LEVEL|COUNTERSIGN_|SLACK_|MICROSOFT_|TEAMS_|PG)/.test(name)) clean[name] = value;
  }
  return { ...clean, ...env };
}

/** Runs `command` and resolves when it exits 0; rejects with its stderr otherwise. */
export function runTimed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

/** `psql -c "\copy (query) TO '/dev/null'"`: the time to read the query's rows out of Postgres. */
export function copyOut(url: string, query: string): Promise<TimedRun> {
  return runTimed(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${query.replace(/\s+/g, ' ')}) TO '/dev/null'`, url],
    cleanEnv({}),
  );
}
