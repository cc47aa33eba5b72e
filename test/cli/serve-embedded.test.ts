// `countersign serve` as a real process on the embedded PGlite — always embedded, whatever
// DATABASE_URL the test run has: the server is started with DATABASE_URL removed and a temporary
// COUNTERSIGN_DATA_DIR. Covers: start-up logs, a CLI command reaching the running server's
// database through the lock file, graceful SIGTERM (an open long-poll is answered, exit code 0)
// and a restart on the same data directory keeping the data.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  cliEnv,
  describeRun,
  freePort,
  killRunningClis,
  runCli,
  startCli,
  type CliProcess,
} from '../support/cli.ts';

interface HttpResult {
  status: number;
  body: unknown;
}

/** Sends a request on a connection of its own; `sent` resolves once it is written to the socket. */
function request(
  method: string,
  url: string,
  key?: string,
  body?: unknown,
): { sent: Promise<void>; response: Promise<HttpResult> } {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const req = http.request(url, {
    method,
    agent: false,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(payload
        ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
        : {}),
    },
  });
  const sent = once(req, 'finish').then(() => undefined);
  const response = new Promise<HttpResult>((resolvePromise, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', reject);
      res.on('end', () => {
        const type = res.headers['content-type'] ?? '';
        resolvePromise({
          status: res.statusCode ?? 0,
          body: type.includes('json') && text ? JSON.parse(text) : text,
        });
      });
    });
  });
  // Failures surface where `response` is awaited; this only keeps an early one from being unhandled.
  sent.catch(() => undefined);
  response.catch(() => undefined);
  req.end(payload);
  return { sent, response };
}

const call = (method: string, url: string, key?: string, body?: unknown) =>
  request(method, url, key, body).response;

const approvalSchema = z.looseObject({ id: z.uuid(), status: z.string(), action: z.string() });
const createdKeySchema = z.looseObject({ id: z.uuid(), key: z.string().startsWith('cs_') });

/**
 * The Node.js binaries to run the server on: the one running the tests, and the oldest version
 * package.json's `engines` allows when CI provides it (.ci/run fetches it from the npm registry).
 */
const OLDEST_NODE = process.env['COUNTERSIGN_TEST_OLDEST_NODE'];
const NODES = [
  { label: `Node.js ${process.version}`, node: process.execPath, version: process.version },
  ...(OLDEST_NODE ? [{ label: 'the oldest supported Node.js', node: OLDEST_NODE, version: 'v20.19.' }] : []),
];

describe.each(NODES)('countersign serve on the embedded Postgres, on $label', ({ node, version }) => {
  let dataDir: string;
  let key: string;
  let created: z.infer<typeof approvalSchema>;
  let readBeforeShutdown: unknown;

  beforeAll(async () => {
    // The binary is the version it is said to be (a wrong path fails here, not as a skip).
    const ran = spawnSync(node, ['--version'], { encoding: 'utf8' });
    expect(ran.stdout.trim().startsWith(version), `${node}: ${ran.stdout}${ran.stderr}`).toBe(true);
    dataDir = await mkdtemp(join(tmpdir(), 'countersign-serve-'));
  });
  afterEach(async () => {
    // A test that failed half-way must not leave a server running into the next one.
    await killRunningClis();
  });
  afterAll(async () => {
    await killRunningClis();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  function env(port: number): NodeJS.ProcessEnv {
    return cliEnv({
      DATABASE_URL: undefined,
      COUNTERSIGN_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
  }

  async function startServe(): Promise<{
    serve: CliProcess;
    url: string;
    port: number;
    env: NodeJS.ProcessEnv;
  }> {
    const port = await freePort();
    const serveEnv = env(port);
    const serve = startCli(['serve'], serveEnv, { node });
    const listening = await serve.waitForLog((l) => l['msg'] === 'countersign is listening');
    const url = `http://127.0.0.1:${port}`;
    expect(listening['url']).toBe(url);
    expect(listening['embeddedDatabase']).toBe(true);
    return { serve, url, port, env: serveEnv };
  }

  async function stop(serve: CliProcess): Promise<void> {
    serve.child.kill('SIGTERM');
    const result = await serve.exited;
    expect(result.signal, describeRun(result)).toBeNull();
    expect(result.code, describeRun(result)).toBe(0);
    expect(serve.logLines().map((l) => l['msg'])).toContain('shut down');
  }

  it(
    'serves on the embedded Postgres, says so, and lets `keys create` use its database while it runs; ' +
      'SIGTERM answers an open long-poll and exits 0',
    async () => {
      const { serve, url, env: serveEnv } = await startServe();

      const lines = serve.logLines();
      const embeddedLine = lines.find((l) => /embedded Postgres/.test(String(l['msg'])));
      expect(embeddedLine, serve.stdout()).toBeDefined();
      expect(embeddedLine?.['dataDir']).toBe(resolve(dataDir));
      expect(lines.find((l) => l['msg'] === 'connecting to Postgres')?.['embedded']).toBe(true);

      // The server holds the data directory and has published where its database listens.
      const lock = z
        .object({ pid: z.number(), url: z.string() })
        .parse(JSON.parse(await readFile(join(dataDir, 'embedded.lock.json'), 'utf8')));
      expect(lock.pid).toBe(serve.pid);
      expect(lock.url).toMatch(/^postgresql:\/\/.+@127\.0\.0\.1:\d+\//);

      // A second process (the CLI) on the same data directory connects to that database.
      const keys = await runCli(['keys', 'create', '--name', 'x', '--json'], serveEnv, { node });
      expect(keys.code, describeRun(keys)).toBe(0);
      key = createdKeySchema.parse(JSON.parse(keys.stdout)).key;

      // ...and the server knows the key it made: the same database.
      const post = await call('POST', `${url}/v1/approvals`, key, {
        action: 'db.export',
        requester: { email: 'alice@example.com' },
      });
      expect(post.status, JSON.stringify(post.body)).toBe(201);
      created = approvalSchema.parse(post.body);
      expect(created.status).toBe('pending');
      const read = await call('GET', `${url}/v1/approvals/${created.id}`, key);
      expect(read.status).toBe(200);
      readBeforeShutdown = read.body;

      // A long-poll is open when SIGTERM comes.
      const longPoll = request('GET', `${url}/v1/approvals/${created.id}?wait=30`, key);
      await longPoll.sent;
      // Barrier: a request sent afterwards on another connection has been answered, so the
      // server has long since read the long-poll and is holding it.
      for (let i = 0; i < 2; i++) expect((await call('GET', `${url}/healthz`)).status).toBe(200);

      serve.child.kill('SIGTERM');
      const answer = await longPoll.response;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(approvalSchema.parse(answer.body)).toMatchObject({ id: created.id, status: 'pending' });

      const result = await serve.exited;
      expect(result.signal, describeRun(result)).toBeNull();
      expect(result.code, describeRun(result)).toBe(0);
      const messages = serve.logLines().map((l) => l['msg']);
      expect(messages).toContain('shut down');
      expect(serve.logLines().find((l) => l['msg'] === 'received signal')?.['signal']).toBe('SIGTERM');
      // A clean stop gives the data directory back.
      expect(existsSync(join(dataDir, 'embedded.lock.json'))).toBe(false);
    },
    240_000,
  );

  it('keeps the data across a restart on the same data directory', async () => {
    expect(created, 'the previous test created a request').toBeDefined();
    const { serve, url } = await startServe();
    const read = await call('GET', `${url}/v1/approvals/${created.id}`, key);
    expect(read.status, JSON.stringify(read.body)).toBe(200);
    expect(read.body).toEqual(readBeforeShutdown);
    await stop(serve);
  }, 240_000);
});

describe('countersign serve configuration errors', { timeout: 120_000 }, () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'countersign-serve-bad-'));
  });
  afterAll(async () => {
    await killRunningClis();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('exits non-zero naming PORT when PORT is not a number', async () => {
    const result = await runCli(
      ['serve'],
      cliEnv({ DATABASE_URL: undefined, COUNTERSIGN_DATA_DIR: dataDir, PORT: 'notanumber' }),
    );
    expect(result.signal, describeRun(result)).toBeNull();
    expect(result.code, describeRun(result)).not.toBe(0);
    expect(result.code, describeRun(result)).not.toBeNull();
    expect(result.stderr).toMatch(/\bPORT\b/);
    // It stopped before touching the database.
    expect(existsSync(join(dataDir, 'embedded.lock.json'))).toBe(false);
    expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
  });
});
