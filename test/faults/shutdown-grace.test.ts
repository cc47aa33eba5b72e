// `countersign serve` stops within COUNTERSIGN_SHUTDOWN_GRACE_MS. With nothing in flight (only a
// connection that never sent a request, a keep-alive connection between requests and a long-poll,
// which shutdown answers at once) it stops at once instead of waiting out the grace period; with a
// callback attempt hanging, it gives up on it at the end of the grace period and fails the job so
// that it is retried, instead of waiting pg-boss's 15 seconds.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../apps/server/src/db/client.ts';
import { createApiKey, type CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { cliEnv, describeRun, freePort, killRunningClis, startCli, type CliProcess } from '../support/cli.ts';
import { deliveryEnv } from '../support/delivery-fixtures.ts';
import { pollUntil } from '../support/poll.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

interface Serve {
  proc: CliProcess;
  port: number;
}

describe('shutdown within the grace period', () => {
  let database: TestDatabase;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver | undefined;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await killRunningClis();
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function startServe(env: Record<string, string>): Promise<Serve> {
    const port = await freePort();
    const proc = startCli(
      ['serve'],
      cliEnv({
        DATABASE_URL: database.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        ...env,
      }),
    );
    await proc.waitForLog((line) => line['msg'] === 'countersign is listening');
    if (!client) {
      const db = createDatabase(database.url);
      try {
        client = await createApiKey(db, { name: 'shutdown' });
      } finally {
        await db.close();
      }
    }
    return { proc, port };
  }

  /** A raw connection to the server; `send` is written at once (possibly a partial request). */
  async function connect(
    serve: Serve,
    send?: string,
  ): Promise<{ socket: net.Socket; received: () => string }> {
    const socket = net.connect(serve.port, '127.0.0.1');
    sockets.push(socket);
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    if (send) socket.write(send);
    return { socket, received: () => received };
  }

  async function create(serve: Serve, body: Record<string, unknown> = {}): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${serve.port}/v1/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'deploy.staging', requester: { email: 'alice@example.com' }, ...body }),
    });
    expect(response.status).toBe(201);
    return String(((await response.json()) as { id: string }).id);
  }

  async function stopTimed(serve: Serve): Promise<number> {
    const started = performance.now();
    serve.proc.child.kill('SIGTERM');
    const result = await serve.proc.exited;
    const took = performance.now() - started;
    expect(result.code, describeRun(result)).toBe(0);
    return took;
  }

  it('stops at once when nothing is in flight, whatever connections are open', async () => {
    const grace = 8000;
    const serve = await startServe({ COUNTERSIGN_SHUTDOWN_GRACE_MS: String(grace) });
    const id = await create(serve);
    await connect(serve); // a connection that never sends a request (a pre-connect, a health checker)
    const keepAlive = await connect(serve, 'GET /healthz HTTP/1.1\r\nHost: countersign\r\n\r\n');
    const longPoll = await connect(
      serve,
      `GET /v1/approvals/${id}?wait=60 HTTP/1.1\r\nHost: countersign\r\nAuthorization: Bearer ${client.key}\r\n\r\n`,
    );
    await pollUntil(keepAlive.received, (text) => text.includes('"status":"ok"'), {
      what: 'the health answer',
    });
    await sleep(300); // the long-poll is waiting

    const took = await stopTimed(serve);
    // Before, the drain alone waited out the whole grace period for the silent connection. The
    // server's own figure excludes Node's teardown after it (1–2 s on a loaded 2-core machine).
    expect(took).toBeLessThan(grace);
    const stopped = serve.proc.logLines().find((line) => line['msg'] === 'shut down');
    expect(Number(stopped?.['tookMs'])).toBeLessThan(grace / 4);
    expect(longPoll.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(longPoll.received()).toContain('"status":"pending"');
  });

  it('gives up on a hanging callback attempt at the end of the grace period and leaves it to a retry', async () => {
    const grace = 1500;
    receiver = await startCallbackReceiver({ secret: 'unused' });
    receiver.setFallback('hang');
    const serve = await startServe({
      ...deliveryEnv({ COUNTERSIGN_CALLBACK_TIMEOUT_MS: '30000' }),
      COUNTERSIGN_SHUTDOWN_GRACE_MS: String(grace),
    });
    const id = await create(serve, { callbackUrl: receiver.urlFor('/hooks/hang') });
    const cancelled = await fetch(`http://127.0.0.1:${serve.port}/v1/approvals/${id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.key}` },
    });
    expect(cancelled.status).toBe(200);
    await receiver.waitForCount(1); // the attempt is in flight and will not end by itself

    const took = await stopTimed(serve);
    expect(took).toBeLessThan(grace + 4000); // pg-boss alone used to wait up to 15 s
    const stopped = serve.proc.logLines().find((line) => line['msg'] === 'shut down');
    expect(Number(stopped?.['tookMs'])).toBeLessThan(grace + 500);
    const states = await withPgClient(database.url, async (pg) => {
      const { rows } = await pg.query<{ state: string }>(
        `SELECT state::text AS state FROM pgboss.job WHERE name = 'callback-delivery'`,
      );
      return rows.map((r) => r.state);
    });
    expect(states).toEqual(['retry']);
  });
});
