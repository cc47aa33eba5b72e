// The README's five-minute walkthrough, run as written so it cannot rot: the ```sh blocks under
// "## Five-minute walkthrough" are read from README.md and run with bash from the repository root
// against a fresh server started by the walkthrough's own `npm start` line. Only the port is
// substituted (and the database, through DATABASE_URL, is the test's own). The browser step is
// replaced by the HTTP calls the console's forms make: the development sign-in, then Approve.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cliEnv, freePort, REPO_ROOT } from '../support/cli.ts';
import { createCookieAgent, csrfTokenOf } from '../support/cookie-agent.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const WALKTHROUGH_HEADING = '## Five-minute walkthrough';
const curlMissing = spawnSync('curl', ['--version']).status !== 0;

interface Step {
  heading: string;
  blocks: string[];
}

/** The walkthrough's steps (### headings) and the ```sh blocks under each, in order. */
function readWalkthrough(readme: string): Step[] {
  const lines = readme.split('\n');
  const start = lines.indexOf(WALKTHROUGH_HEADING);
  if (start < 0) throw new Error(`README.md has no "${WALKTHROUGH_HEADING}" section`);
  const steps: Step[] = [];
  let block: string[] | null = null;
  for (const line of lines.slice(start + 1)) {
    if (block) {
      if (line.startsWith('```')) {
        const step = steps.at(-1);
        if (!step) throw new Error('a code block before the first step heading');
        step.blocks.push(block.join('\n'));
        block = null;
      } else block.push(line);
    } else if (line.startsWith('## ')) break;
    else if (line.startsWith('### ')) steps.push({ heading: line.slice(4), blocks: [] });
    else if (line.startsWith('```sh')) block = [];
  }
  return steps;
}

/** Splits concatenated output into JSON values and the text between them (e.g. curl answers). */
function splitOutput(text: string): { json: unknown[]; rest: string } {
  const json: unknown[] = [];
  let rest = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '{') {
      rest += text[i];
      i++;
      continue;
    }
    let depth = 0;
    let inString = false;
    let j = i;
    for (; j < text.length; j++) {
      const c = text[j];
      if (inString) {
        if (c === '\\') j++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) break;
      }
    }
    try {
      json.push(JSON.parse(text.slice(i, j + 1)));
      i = j + 1;
    } catch {
      rest += text[i];
      i++;
    }
  }
  return { json, rest };
}

const approvalSchema = z.looseObject({
  id: z.uuid(),
  status: z.string(),
  title: z.string().nullable(),
  context: z.record(z.string(), z.unknown()),
  payloadDigest: z.string(),
  decisions: z.array(
    z.looseObject({
      approver: z.looseObject({ email: z.string(), platform: z.string() }),
      verdict: z.string(),
    }),
  ),
  receipt: z.string().optional(),
});
const pageSchema = z.strictObject({ items: z.array(approvalSchema), nextCursor: z.string().nullable() });

/** Resolves once `text()` contains `marker`; rejects if the process ends first. */
function waitForOutput(child: ChildProcess, text: () => string, marker: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (text().includes(marker)) {
        cleanup();
        resolve();
      }
    };
    const exited = (code: number | null) => {
      cleanup();
      reject(new Error(`exited (${code}) before "${marker}"\n${text()}`));
    };
    const cleanup = () => {
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', exited);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('exit', exited);
    check();
  });
}

/** Stops a process group started with `detached: true`, waiting for its leader to exit. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(-child.pid, 'SIGTERM');
  const deadline = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, 30_000);
  await exited;
  clearTimeout(deadline);
}

describe.skipIf(curlMissing)('the README walkthrough', () => {
  let database: TestDatabase;
  let dataDir: string;
  let port: number;
  let server: ChildProcess | undefined;
  let serverOutput = '';
  let steps: Step[];

  const withPort = (script: string) => script.replace(/\b(localhost|127\.0\.0\.1):3000\b/g, `$1:${port}`);

  beforeAll(async () => {
    steps = readWalkthrough(await readFile(join(REPO_ROOT, 'README.md'), 'utf8'));
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'countersign-walkthrough-'));
    port = await freePort();
  });

  afterAll(async () => {
    if (server) await stopGroup(server);
    await database?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('has four steps: start, ask, decide in the browser, see the verdict and the report', () => {
    expect(steps.map((step) => step.blocks.length)).toEqual([1, 2, 0, 1]);
    expect(steps[0]?.blocks[0]).toMatch(/^(?:[A-Z_]+=\S+ )*npm start$/);
    expect(steps[2]?.heading).toMatch(/browser/);
  });

  it('works end to end as written', { timeout: 300_000 }, async () => {
    const [start, ask, , verdict] = steps;
    if (!start?.blocks[0] || !ask || !verdict) throw new Error('walkthrough steps missing');
    const env = cliEnv({ DATABASE_URL: database.url, COUNTERSIGN_DATA_DIR: dataDir });

    // 1. The server, started by the walkthrough's own command line.
    server = spawn('bash', ['-c', start.blocks[0]], {
      cwd: REPO_ROOT,
      env: { ...env, PORT: String(port) },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = server;
    started.stdout?.setEncoding('utf8').on('data', (chunk: string) => (serverOutput += chunk));
    started.stderr?.setEncoding('utf8').on('data', (chunk: string) => (serverOutput += chunk));
    await waitForOutput(started, () => serverOutput, 'countersign is listening');
    expect(serverOutput).toContain(`http://127.0.0.1:${port}`);

    // 2 and 4 run in one shell, so variables carry over as in the reader's terminal; the shell
    // waits on fd 3 while the test plays the browser step.
    const script = [
      'set -eo pipefail',
      ...ask.blocks.map((block, n) => `printf '\\n::block ask-${n + 1}\\n'\n${withPort(block)}`),
      `printf '\\n::browser\\n'`,
      'read -r _ <&3',
      ...verdict.blocks.map((block, n) => `printf '\\n::block verdict-${n + 1}\\n'\n${withPort(block)}`),
    ].join('\n');
    expect(script).not.toMatch(/:3000\b/);
    const shell = spawn('bash', ['-c', script], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    shell.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    shell.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const shellExit = once(shell, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const transcript = () => `--- stdout\n${stdout}\n--- stderr\n${stderr}\n--- server\n${serverOutput}`;
    await waitForOutput(shell, () => stdout, '::browser\n').catch((error: unknown) => {
      throw new Error(`${String(error)}\n${transcript()}`);
    });

    const section = (name: string) => {
      const from = stdout.indexOf(`::block ${name}\n`);
      expect(from, transcript()).toBeGreaterThanOrEqual(0);
      const after = stdout.slice(from + `::block ${name}\n`.length);
      const end = after.search(/\n::(block|browser)/);
      return end < 0 ? after : after.slice(0, end);
    };

    // The request: pending, its secret masked, with a payload digest.
    const [created] = splitOutput(section('ask-1')).json.map((value) => approvalSchema.parse(value));
    expect(created?.status).toBe('pending');
    expect(created?.context).toEqual({ table: 'users', token: '••••c123' });
    expect(created?.payloadDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const id = created?.id ?? '';

    // The wait, the second request, both pages and the cancel.
    const answers = splitOutput(section('ask-2')).json;
    expect(answers).toHaveLength(4);
    const waited = approvalSchema.parse(answers[0]);
    expect(waited).toMatchObject({ id, status: 'pending' });
    const firstPage = pageSchema.parse(answers[1]);
    const secondPage = pageSchema.parse(answers[2]);
    const cancelled = approvalSchema.parse(answers[3]);
    expect(firstPage.items.map((item) => item.title)).toEqual(['Restart billing']);
    expect(firstPage.nextCursor).toEqual(expect.any(String));
    expect(secondPage.items.map((item) => item.id)).toEqual([id]);
    expect(secondPage.nextCursor).toBeNull();
    expect(cancelled).toMatchObject({ id: firstPage.items[0]?.id, status: 'cancelled' });

    // 3. The browser step: what the sign-in and Approve forms send.
    const base = `http://127.0.0.1:${port}`;
    const bob = createCookieAgent();
    const signin = await bob.request('GET', `${base}/signin`);
    expect(signin.text).toContain('Development sign-in');
    const signedIn = await bob.request('POST', `${base}/auth/dev`, {
      email: 'bob@example.com',
      _csrf: csrfTokenOf(signin.text),
    });
    expect(signedIn.status).toBe(303);
    const waiting = await bob.request('GET', `${base}/`);
    expect(waiting.text).toContain('Waiting on me');
    expect(waiting.text).toContain(`/requests/${id}`);
    expect(waiting.text).toContain('Export users to analytics');
    expect(waiting.text).not.toContain('Restart billing');
    const page = await bob.request('GET', `${base}/requests/${id}`);
    expect(page.text).toContain('Approve…');
    expect(page.text).toContain('Confirm approval');
    const approved = await bob.request('POST', `${base}/requests/${id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    expect(approved.status).toBe(303);
    expect((await bob.request('GET', `${base}/requests/${id}`)).text).toContain('the request is approved');

    // 4. Back in the terminal: the verdict and the report.
    (shell.stdio[3] as Writable).end('\n');
    const [code] = await shellExit;
    expect(code, transcript()).toBe(0);
    const { json, rest: report } = splitOutput(section('verdict-1'));
    const decided = approvalSchema.parse(json[0]);
    expect(decided).toMatchObject({ id, status: 'approved' });
    expect(decided.decisions).toHaveLength(1);
    expect(decided.decisions[0]).toMatchObject({
      approver: { email: 'bob@example.com', platform: 'web' },
      verdict: 'approve',
    });
    expect(decided.receipt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(report).toContain('# Countersign audit report');
    expect(report).toMatch(/\*\*INTACT\*\*: \d+ events verified\./);
    expect(report).toContain('Export users to analytics');
    expect(report).toContain('Restart billing');
    // Markdown punctuation in a cell is escaped; rendered, this reads "[development sign-in]".
    expect(report).toContain('\\[development sign-in\\]');
    expect(stderr).toContain('countersign: using the database');
  });
});
