// Database failover under load, against a Postgres cluster of the test's own: a `countersign serve`
// child process takes requests (API), decisions (recordDecision, as a chat adapter calls it),
// cancellations and long-polls while it delivers callbacks to a local receiver and posts cards to
// the fake Slack. Postgres is restarted (`pg_ctl restart -m fast`) and then stopped for a few
// seconds and started again. The server must never exit; every API answer is 2xx or 503
// DATABASE_UNAVAILABLE; every acknowledged request and decision is stored afterwards; every
// callback arrives once per delivery id; every card is posted once; the audit chain verifies.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  recordDecision,
  type RecordDecisionResult,
} from '../../apps/server/src/approvals/record-decision.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { systemClock, type Deps } from '../../apps/server/src/deps.ts';
import { AppError } from '../../apps/server/src/errors.ts';
import { createApiKey, type CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { UNHANDLED_REJECTION_MESSAGE } from '../../apps/server/src/observability/guard-unhandled-rejections.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { cliEnv, freePort, killRunningClis, startCli, type CliProcess } from '../support/cli.ts';
import { TEST_EVENT_KEY_SETTING } from '../support/test-event-key.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { pollUntil } from '../support/poll.ts';
import { CHANNEL, SLACK_USERS, metadataRequestId } from '../support/slack-harness.ts';
import {
  createClusterDatabase,
  findPostgresBin,
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '../support/throwaway-postgres.ts';
import { approver, expectAppError, testDeps } from '../support/use-case-fixtures.ts';

const bin = findPostgresBin();

interface Answer {
  status: number;
  code: string | undefined;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

/** Everything the load saw, for the assertions afterwards. */
interface Ledger {
  created: Set<string>;
  approved: Set<string>;
  cancelled: Set<string>;
  /** Answers that were neither 2xx nor a proper 503 DATABASE_UNAVAILABLE (must stay empty). */
  wrong: string[];
  outageAnswers: number;
  readyStatuses: number[];
  decisionOutages: number;
}

describe.skipIf(!bin)('database failover under load (throwaway Postgres cluster)', () => {
  let cluster: ThrowawayPostgres;
  let databaseUrl: string;
  let fake: FakeSlack;
  let receiver: CallbackReceiver;
  let serve: CliProcess;
  let baseUrl: string;
  let client: CreatedApiKey;
  let db: Database;
  let deps: Deps;

  beforeAll(async () => {
    if (!bin) return;
    cluster = await startThrowawayPostgres(bin);
    databaseUrl = await createClusterDatabase(cluster, 'countersign');
    fake = await startFakeSlack({ users: SLACK_USERS });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    serve = startCli(
      ['serve'],
      cliEnv({
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        SLACK_BOT_TOKEN: fake.botToken,
        SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
        SLACK_API_URL: fake.url,
        SLACK_POST_INTERVAL_MS: '50',
        COUNTERSIGN_CALLBACK_ALLOW: '127.0.0.1',
        COUNTERSIGN_CALLBACK_RETRY_DELAY_S: '1',
        COUNTERSIGN_CALLBACK_TIMEOUT_MS: '2000',
        COUNTERSIGN_JOB_POLL_S: '0.5',
        COUNTERSIGN_EXPIRY_SWEEP_MS: '500',
        COUNTERSIGN_SHUTDOWN_GRACE_MS: '3000',
        // The decisions this test makes itself are signed with the test's event key: the server
        // holds the same key, as replicas of one deployment do.
        COUNTERSIGN_EVENT_KEY: TEST_EVENT_KEY_SETTING,
      }),
    );
    await serve.waitForLog((line) => line['msg'] === 'countersign is listening');
    db = createDatabase(databaseUrl);
    deps = { ...testDeps(db, { clock: systemClock }), chatPlatforms: new Set(['slack']) };
    client = await createApiKey(db, { name: 'failover' });
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
  });

  afterAll(async () => {
    await killRunningClis();
    await db?.close();
    await receiver?.close();
    await fake?.close();
    await cluster?.destroy();
  });

  /** One API call on a fresh connection (no keep-alive: a reused socket the server just timed
   * out would fail for reasons that have nothing to do with the database). */
  function call(method: string, path: string, body?: unknown): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = http.request(
        `${baseUrl}${path}`,
        {
          method,
          agent: false,
          headers: {
            authorization: `Bearer ${client.key}`,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
            const retryAfter = response.headers['retry-after'];
            resolve({
              status: response.statusCode ?? 0,
              code: typeof parsed['code'] === 'string' ? parsed['code'] : undefined,
              retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
              body: parsed,
            });
          });
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  const decide = (id: string): Promise<RecordDecisionResult> =>
    recordDecision(deps, { requestId: id, verdict: 'approve', approver: approver('bob@example.com') });

  /** 2xx passes; a 503 must be problem+json DATABASE_UNAVAILABLE with Retry-After; else recorded. */
  function judge(ledger: Ledger, what: string, answer: Answer, alsoFine: number[] = []): boolean {
    if (answer.status >= 200 && answer.status < 300) return true;
    if (answer.status === 503 && answer.code === 'DATABASE_UNAVAILABLE' && answer.retryAfter) {
      ledger.outageAnswers += 1;
      return false;
    }
    if (!alsoFine.includes(answer.status))
      ledger.wrong.push(`${what}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
    return false;
  }

  /** Runs creators, deciders, cancellers, long-polls and a readiness probe until `stop` aborts. */
  function runLoad(ledger: Ledger, stop: AbortSignal): Promise<unknown> {
    // Every third request is for the canceller, the rest for the decider: no request gets both.
    const toDecide: string[] = [];
    const toCancel: string[] = [];
    /** Requests whose decision may have committed although recordDecision reported the outage. */
    const unsure = new Set<string>();
    const loop = async (step: () => Promise<void>, pauseMs: number) => {
      while (!stop.aborted) {
        await step();
        await sleep(pauseMs);
      }
    };
    const create = async () => {
      const answer = await call('POST', '/v1/approvals', {
        action: 'deploy.staging',
        title: `failover ${ledger.created.size}`,
        requester: { email: 'alice@example.com' },
        channel: `slack:${CHANNEL}`,
        callbackUrl: receiver.urlFor('/hooks/failover'),
      });
      if (judge(ledger, 'create', answer)) {
        const id = String(answer.body['id']);
        ledger.created.add(id);
        (ledger.created.size % 3 === 0 ? toCancel : toDecide).push(id);
      }
    };
    const decidePending = async () => {
      const id = toDecide.shift();
      if (!id) return;
      try {
        const result = await decide(id);
        expect(result.request.status).toBe('approved');
        ledger.approved.add(id);
      } catch (error) {
        if (error instanceof AppError && error.code === 'DATABASE_UNAVAILABLE') {
          ledger.decisionOutages += 1;
          unsure.add(id);
          toDecide.push(id); // try again later, as the clicker would
        } else if (error instanceof AppError && error.code === 'ALREADY_DECIDED' && unsure.has(id)) {
          // The earlier try committed, but its answer was lost with the connection.
          ledger.approved.add(id);
        } else {
          ledger.wrong.push(`recordDecision: ${String(error)}`);
        }
      }
    };
    const cancel = async () => {
      const id = toCancel.shift();
      if (!id) return;
      const answer = await call('POST', `/v1/approvals/${id}/cancel`, {});
      // 409: an earlier cancel whose answer was lost to the outage had committed.
      if (judge(ledger, 'cancel', answer, [409])) ledger.cancelled.add(id);
      else if (answer.status === 503) toCancel.push(id);
    };
    const longPoll = async () => {
      const id = toDecide.at(-1) ?? toCancel.at(-1);
      if (!id) return;
      judge(ledger, 'long-poll', await call('GET', `/v1/approvals/${id}?wait=2`));
    };
    const ready = async () => {
      ledger.readyStatuses.push((await call('GET', '/readyz')).status);
    };
    return Promise.all([
      loop(create, 30),
      loop(create, 45),
      loop(decidePending, 40),
      loop(cancel, 120),
      loop(longPoll, 10),
      loop(ready, 200),
    ]);
  }

  it('keeps serving through a restart and an outage, and loses, repeats and duplicates nothing', async () => {
    const ledger: Ledger = {
      created: new Set(),
      approved: new Set(),
      cancelled: new Set(),
      wrong: [],
      outageAnswers: 0,
      readyStatuses: [],
      decisionOutages: 0,
    };
    const stopLoad = new AbortController();
    const load = runLoad(ledger, stopLoad.signal);

    // Phases wait for progress rather than for a fixed time: on a loaded machine a create can take
    // seconds, and the faults must hit work in flight.
    const progress = (what: string, done: () => boolean) =>
      pollUntil(() => done(), Boolean, { what, timeoutMs: 30_000, intervalMs: 50 });
    await progress('requests and decisions before the restart', () => ledger.approved.size >= 2);
    await cluster.restart();
    const beforeStop = ledger.created.size;
    await progress('requests between the restart and the stop', () => ledger.created.size >= beforeStop + 3);
    // One acknowledged request kept aside: it is decided while Postgres is down, and afterwards.
    const [keptAside] = [...ledger.created].filter(
      (id) => !ledger.approved.has(id) && !ledger.cancelled.has(id),
    );
    await cluster.stop();
    if (keptAside) {
      const refused = await expectAppError(decide(keptAside), 'DATABASE_UNAVAILABLE');
      expect(refused.status).toBe(503);
      ledger.decisionOutages += 1;
    }
    await sleep(3000);
    const duringOutage = { ...ledger, readyStatuses: [...ledger.readyStatuses] };
    await cluster.start();
    const afterStart = ledger.created.size;
    await progress('requests after the outage', () => ledger.created.size >= afterStart + 3);
    stopLoad.abort();
    await load;
    if (keptAside) {
      const outcome = await decide(keptAside).catch((error: unknown) => error);
      // The load may have decided or cancelled it meanwhile.
      if (!(outcome instanceof AppError && outcome.code === 'ALREADY_DECIDED')) {
        expect(outcome).toMatchObject({ request: { status: 'approved' } });
        ledger.approved.add(keptAside);
      }
    }

    expect(serve.child.exitCode, serve.stderr()).toBeNull();
    expect(ledger.wrong).toEqual([]);
    // The outage was seen, as 503s and as a readiness probe saying not ready, and it passed.
    expect(duringOutage.outageAnswers).toBeGreaterThan(0);
    expect(duringOutage.readyStatuses).toContain(503);
    // Ready again: the probe comes back to 200 once the pools have reconnected, which can trail the
    // first requests served after the outage by a probe or two.
    await pollUntil(
      async () => {
        ledger.readyStatuses.push((await call('GET', '/readyz')).status);
        return ledger.readyStatuses.at(-1);
      },
      (status) => status === 200,
      { what: 'ready again after the outage', timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(ledger.readyStatuses.at(-1)).toBe(200);
    expect(ledger.decisionOutages).toBeGreaterThan(0);
    expect(ledger.created.size).toBeGreaterThanOrEqual(8);
    expect(ledger.approved.size).toBeGreaterThanOrEqual(2);

    // Every acknowledged request and decision is stored.
    const { rows } = await db.pool.query<{ id: string; status: string; decisions: number }>(
      `SELECT r.id, r.status::text AS status,
              (SELECT count(*) FROM decisions d WHERE d.request_id = r.id)::int AS decisions
         FROM approval_requests r`,
    );
    const stored = new Map(rows.map((r) => [r.id, r]));
    for (const id of ledger.created) expect(stored.has(id), `request ${id}`).toBe(true);
    for (const id of ledger.approved)
      expect(stored.get(id)).toMatchObject({ status: 'approved', decisions: 1 });
    for (const id of ledger.cancelled) expect(stored.get(id)?.status).toBe('cancelled');

    // Every verdict's callback arrives, once per delivery id, with a valid signature.
    const deliveries = await pollUntil(
      async () =>
        (
          await db.pool.query<{ id: string; status: string; request_id: string }>(
            `SELECT id, status::text AS status, request_id FROM callback_deliveries`,
          )
        ).rows,
      (list) => list.every((d) => d.status === 'succeeded'),
      { what: 'every callback delivered', timeoutMs: 25_000, intervalMs: 250 },
    );
    const decided = rows.filter((r) => r.status !== 'pending').map((r) => r.id);
    expect(new Set(deliveries.map((d) => d.request_id))).toEqual(new Set(decided));
    await sleep(1500); // a few more polling rounds: nothing else may arrive
    const arrivals = new Map<string, number>();
    for (const r of receiver.received()) {
      expect(r.signature.valid).toBe(true);
      arrivals.set(r.deliveryId ?? 'none', (arrivals.get(r.deliveryId ?? 'none') ?? 0) + 1);
    }
    expect(new Set(arrivals.keys())).toEqual(new Set(deliveries.map((d) => d.id)));
    expect([...arrivals.entries()].filter(([, count]) => count !== 1)).toEqual([]);

    // Every request's card is posted once and shows its latest state.
    await pollUntil(
      async () =>
        (
          await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM chat_cards WHERE shown_version < version`,
          )
        ).rows[0]?.n,
      (n) => n === 0,
      { what: 'every card shown', timeoutMs: 25_000, intervalMs: 250 },
    );
    const posts = new Map<string, number>();
    for (const message of fake.messages(CHANNEL)) {
      const id = metadataRequestId(message);
      if (id) posts.set(id, (posts.get(id) ?? 0) + 1);
    }
    expect(new Set(posts.keys())).toEqual(new Set(rows.map((r) => r.id)));
    expect([...posts.entries()].filter(([, count]) => count !== 1)).toEqual([]);

    expect(await verifyChain(db)).toMatchObject({ intact: true });

    // The real fixes held: the last-resort guard never fired, and the server stops cleanly.
    const lines = serve.logLines();
    expect(lines.filter((l) => l['msg'] === UNHANDLED_REJECTION_MESSAGE)).toEqual([]);
    expect(lines.filter((l) => Number(l['level']) >= 60)).toEqual([]);
    serve.child.kill('SIGTERM');
    expect((await serve.exited).code).toBe(0);
  });
});
