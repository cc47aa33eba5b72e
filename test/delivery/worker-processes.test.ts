// Cases 7 and 8, with real `countersign serve` processes on one database: a process killed after
// enqueueing a callback (it ran no workers) still has it delivered, exactly once, by the next
// server; and two processes with workers deliver each of 20 callbacks exactly once, one attempt
// each. Real Postgres only: PGlite's data directory cannot be shared between processes (one
// embedded server owns it), so these cases are skipped on the embedded database.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../apps/server/src/db/client.ts';
import { createApiKey, type CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { cliEnv, describeRun, freePort, killRunningClis, startCli, type CliProcess } from '../support/cli.ts';
import { deliveryEnv, quietPeriod, waitForDelivery } from '../support/delivery-fixtures.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';
import { startTestServer } from '../support/test-server.ts';

interface Serve {
  proc: CliProcess;
  url: string;
}

async function startServe(database: TestDatabase, env: Record<string, string>): Promise<Serve> {
  const port = await freePort();
  const proc = startCli(
    ['serve'],
    cliEnv({
      DATABASE_URL: database.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...deliveryEnv(env),
    }),
  );
  await proc.waitForLog((line) => line['msg'] === 'countersign is listening');
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function api(serve: Serve, key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${serve.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function createAndCancel(serve: Serve, key: string, callbackUrl: string): Promise<string> {
  const created = await api(serve, key, 'POST', '/v1/approvals', {
    action: 'deploy.production',
    requester: { email: 'alice@example.com' },
    callbackUrl,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = String(created.body['id']);
  const cancelled = await api(serve, key, 'POST', `/v1/approvals/${id}/cancel`, {});
  expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
  return id;
}

async function newClient(database: TestDatabase): Promise<CreatedApiKey> {
  const db = createDatabase(database.url);
  try {
    return await createApiKey(db, { name: 'worker-processes' });
  } finally {
    await db.close();
  }
}

async function stopServe(serve: Serve): Promise<void> {
  serve.proc.child.kill('SIGTERM');
  const result = await serve.proc.exited;
  expect(result.code, describeRun(result)).toBe(0);
}

describe.skipIf(!usingRealPostgres)('callback delivery across server processes (real Postgres only)', () => {
  let database: TestDatabase;
  let receiver: CallbackReceiver | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await killRunningClis();
    await receiver?.close();
    receiver = undefined;
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('delivers a callback enqueued by a process that was killed before any worker ran it, exactly once', async () => {
    const enqueuer = await startServe(database, { COUNTERSIGN_CALLBACK_WORKERS: '0' });
    const client = await newClient(database);
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
    const id = await createAndCancel(enqueuer, client.key, receiver.urlFor('/hooks/crash'));
    const jobs = await withPgClient(database.url, async (pg) => {
      const { rows } = await pg.query<{ state: string }>(
        `SELECT state FROM pgboss.job WHERE name = 'callback-delivery'`,
      );
      return rows.map((r) => r.state);
    });
    expect(jobs).toEqual(['created']);

    enqueuer.proc.child.kill('SIGKILL');
    expect((await enqueuer.proc.exited).signal).toBe('SIGKILL');
    expect(receiver.received()).toEqual([]);

    const restarted = await startTestServer({
      database,
      env: deliveryEnv({ COUNTERSIGN_CALLBACK_WORKERS: '2' }),
    });
    try {
      const delivery = await waitForDelivery(restarted, client.key, id, (d) => d.status === 'succeeded');
      await quietPeriod();
      const received = receiver.received();
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ deliveryId: delivery.id, signature: { valid: true } });
      expect(received[0]?.body).toMatchObject({
        type: 'approval.decided',
        approval: { id, status: 'cancelled' },
      });
      expect(delivery).toMatchObject({ verdict: 'cancelled', attemptCount: 1 });
    } finally {
      await restarted.close();
    }
  });

  it('two processes with workers deliver each of 20 callbacks exactly once, one attempt each', async () => {
    const serves = [
      await startServe(database, { COUNTERSIGN_CALLBACK_WORKERS: '4' }),
      await startServe(database, { COUNTERSIGN_CALLBACK_WORKERS: '4' }),
    ] as const;
    const client = await newClient(database);
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
    const callbackUrl = receiver.urlFor('/hooks/pair');

    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createAndCancel(serves[i % 2 === 0 ? 0 : 1], client.key, callbackUrl),
      ),
    );
    await receiver.waitForCount(20);
    await quietPeriod(6);

    const received = receiver.received().filter((r) => r.path === '/hooks/pair');
    expect(received).toHaveLength(20);
    expect(received.every((r) => r.signature.valid)).toBe(true);
    const deliveryIds = received.map((r) => r.deliveryId);
    expect(new Set(deliveryIds).size).toBe(20);
    expect(new Set(received.map((r) => (r.body as { approval: { id: string } }).approval.id))).toEqual(
      new Set(ids),
    );

    const stored = await withPgClient(database.url, async (pg) => {
      const { rows } = await pg.query<{
        id: string;
        status: string;
        attempt_count: number;
        attempts: number;
      }>(
        `SELECT d.id, d.status::text AS status, d.attempt_count,
                (SELECT count(*) FROM callback_attempts a WHERE a.delivery_id = d.id)::int AS attempts
           FROM callback_deliveries d WHERE d.request_id = ANY($1::uuid[])`,
        [ids],
      );
      return rows;
    });
    expect(stored).toHaveLength(20);
    expect(new Set(stored.map((d) => d.id))).toEqual(new Set(deliveryIds));
    for (const d of stored) expect(d).toMatchObject({ status: 'succeeded', attempt_count: 1, attempts: 1 });

    // Each attempt ran in one process: the two processes' attempt logs split the 20 deliveries.
    const attempted = serves.flatMap((s) =>
      s.proc
        .logLines()
        .filter((l) => l['msg'] === 'callback attempt')
        .map((l) => String(l['deliveryId'])),
    );
    expect(attempted.sort()).toEqual([...deliveryIds].sort());

    for (const serve of serves) await stopServe(serve);
  });
});
