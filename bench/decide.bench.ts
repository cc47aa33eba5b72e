// Decide: 200 signed Slack approve clicks sent at once to the real server's /slack/events (a
// local fake plays Slack's Web API), once spread over 200 requests and once all on one quorum
// request, each timed to its committed verdict (the status-change NOTIFY, heard on a LISTEN
// connection) and to its callback at a local receiver. Baseline: recordDecision called directly
// in this process the same number of times, all at once, on a fresh database.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { APPROVE_ACTION_ID } from '../apps/server/src/chat/slack/cards.ts';
import { createDatabase } from '../apps/server/src/db/client.ts';
import { createApiKey } from '../apps/server/src/keys/create-api-key.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../test/support/callback-receiver.ts';
import { startFakeSlack, type FakeSlack } from '../test/support/fake-slack.ts';
import { pollUntil } from '../test/support/poll.ts';
import { writeTempPolicy } from '../test/support/policy-files.ts';
import { createSlackDriver, type SlackDriver } from '../test/support/slack-driver.ts';
import { createBenchDatabase } from './bench-database.ts';
import { figureBelow, median, percentile, type BenchOptions, type BenchRow } from './lib/bench-row.ts';
import { startServer } from './lib/server-process.ts';
import {
  APPROVER_COUNT,
  approverEmail,
  approverUserId,
  benchPolicyYaml,
  benchUsers,
  CHANNEL_ID,
  QUORUM,
  QUORUM_ACTION,
  readIntegrity,
  REQUESTER,
  SINGLE_ACTION,
  watchStatusChanges,
  type Integrity,
  type StatusWatch,
} from './decide-setup.ts';
import { directBaseline, type DirectFigures } from './decide-direct.ts';

/** Preloaded into the server: counts its node-postgres statements into a file. */
const COUNT_STATEMENTS_MODULE = fileURLToPath(new URL('./lib/count-pg-statements.mjs', import.meta.url));

/** How long one burst may take to settle before the round is counted as losing what is missing. */
const SETTLE_TIMEOUT_MS = 180_000;

interface Service {
  /** CPU time (user + system) the server process has used so far, in ms. */
  cpuMs(): number;
  /** Statements the server process has sent through node-postgres so far (count-pg-statements.mjs). */
  statements(): number;
  url: string;
  key: string;
  dbUrl: string;
  fake: FakeSlack;
  driver: SlackDriver;
  receiver: CallbackReceiver;
  watch: StatusWatch;
}

interface ClickTarget {
  requestId: string;
  approver: number;
}

interface Burst {
  /** Per click: Date.now() when it was sent, and when its HTTP answer (Slack's ack) came. */
  sentAt: Map<number, number>;
  ackMs: number[];
  non200: number;
}

interface SingleRound {
  /** Server CPU time from the burst until every verdict and callback, per click. */
  cpuMsPerClick: number;
  /** Statements the server sent from the burst until every verdict, card and callback, per click. */
  statementsPerClick: number;
  verdictMs: number[];
  callbackMs: number[];
  ackMs: number[];
  decisionsPerSecond: number;
  integrity: Integrity;
  duplicateDeliveries: number;
  lostCallbacks: number;
  non200: number;
}

interface QuorumRound {
  decisionMs: number[];
  verdictMs: number;
  callbackMs: number;
  integrity: Integrity;
  duplicateDeliveries: number;
  lostCallbacks: number;
  non200: number;
}

async function createRequests(
  service: Service,
  action: string,
  count: number,
  tag: string,
): Promise<string[]> {
  const ids: string[] = [];
  const one = async (i: number) => {
    const response = await fetch(`${service.url}/v1/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        action,
        title: `Bench ${tag} #${i}`,
        requester: { email: REQUESTER },
        callbackUrl: service.receiver.urlFor(`/${tag}`),
      }),
    });
    const body = (await response.json()) as { id?: string };
    if (response.status !== 201 || !body.id) throw new Error(`create answered ${response.status}`);
    ids.push(body.id);
  };
  for (let i = 0; i < count; i += 8)
    await Promise.all(Array.from({ length: Math.min(8, count - i) }, (_, j) => one(i + j)));
  return ids;
}

/** Waits until every request's card is posted and returns each card's message ts. */
async function waitForCards(service: Service, requestIds: string[]): Promise<Map<string, string>> {
  const pgClient = createDatabase(service.dbUrl, { maxConnections: 1 });
  try {
    const rows = await pollUntil(
      () =>
        pgClient.prisma.chatCard.findMany({
          where: { requestId: { in: requestIds }, messageId: { not: null } },
          select: { requestId: true, messageId: true },
        }),
      (found) => found.length === requestIds.length,
      { what: `${requestIds.length} cards posted`, timeoutMs: 120_000, intervalMs: 50 },
    );
    return new Map(rows.map((r) => [r.requestId, r.messageId as string]));
  } finally {
    await pgClient.close();
  }
}

/** Sends every click at once, each signed, and collects the acks. */
async function sendClicks(
  service: Service,
  targets: ClickTarget[],
  cards: Map<string, string>,
): Promise<Burst> {
  const requests = targets.map((target) => {
    const ts = cards.get(target.requestId) as string;
    const message = service.fake.message(CHANNEL_ID, ts);
    if (!message) throw new Error(`card ${ts} is not in the fake Slack`);
    return service.driver.blockAction({
      userId: approverUserId(target.approver),
      channelId: CHANNEL_ID,
      messageTs: ts,
      actionId: APPROVE_ACTION_ID,
      message,
    });
  });
  const sentAt = new Map<number, number>();
  const ackMs: number[] = [];
  let non200 = 0;
  await Promise.all(
    requests.map(async (request, i) => {
      const at = Date.now();
      sentAt.set(targets[i]?.approver as number, at);
      const response = await service.driver.send(request, { timeoutMs: 30_000 });
      ackMs.push(Date.now() - at);
      if (response.status !== 200) non200 += 1;
    }),
  );
  return { sentAt, ackMs, non200 };
}

function callbacksByRequest(receiver: CallbackReceiver, tag: string) {
  const byRequest = new Map<string, number[]>();
  const deliveries = new Map<string, number>();
  for (const received of receiver.received()) {
    if (received.path !== `/${tag}`) continue;
    const id = (received.body as { approval?: { id?: string } } | undefined)?.approval?.id;
    if (!id) continue;
    const list = byRequest.get(id) ?? [];
    list.push(received.receivedAt.getTime());
    byRequest.set(id, list);
    if (received.deliveryId)
      deliveries.set(received.deliveryId, (deliveries.get(received.deliveryId) ?? 0) + 1);
  }
  const duplicates = [...deliveries.values()].reduce((sum, n) => sum + n - 1, 0);
  return { byRequest, duplicates };
}

/** Waits until every request has its verdict and its callback, or the settle timeout passes. */
async function waitForSettled(service: Service, requestIds: string[], tag: string): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const { byRequest } = callbacksByRequest(service.receiver, tag);
    const done = requestIds.every((id) => service.watch.changes(id).length > 0 && byRequest.has(id));
    if (done || Date.now() > deadline) return;
    await sleep(10);
  }
}

async function singleRound(service: Service, round: string): Promise<SingleRound> {
  const tag = `single-${round}`;
  const requestIds = await createRequests(service, SINGLE_ACTION, APPROVER_COUNT, tag);
  const cards = await waitForCards(service, requestIds);
  const targets = requestIds.map((requestId, approver) => ({ requestId, approver }));
  await sleep(500); // the posting flushes have finished
  const cpuBefore = service.cpuMs();
  const statementsBefore = service.statements();
  const burst = await sendClicks(service, targets, cards);
  await waitForSettled(service, requestIds, tag);
  const cpuMsPerClick = (service.cpuMs() - cpuBefore) / targets.length;
  await sleep(1000); // a late second delivery or verdict would show up here
  // Counted after the wait: the card updates and the requesters' notices finish within it.
  const statementsPerClick = (service.statements() - statementsBefore) / targets.length;
  const { byRequest, duplicates } = callbacksByRequest(service.receiver, tag);
  const verdictMs: number[] = [];
  const callbackMs: number[] = [];
  let lastVerdict = 0;
  for (const { requestId, approver } of targets) {
    const sent = burst.sentAt.get(approver) as number;
    const verdict = service.watch.changes(requestId)[0];
    if (verdict !== undefined) {
      verdictMs.push(verdict - sent);
      lastVerdict = Math.max(lastVerdict, verdict);
    }
    const callback = byRequest.get(requestId)?.[0];
    if (callback !== undefined) callbackMs.push(callback - sent);
  }
  const firstSent = Math.min(...burst.sentAt.values());
  return {
    cpuMsPerClick,
    statementsPerClick,
    verdictMs,
    callbackMs,
    ackMs: burst.ackMs,
    decisionsPerSecond: verdictMs.length / ((lastVerdict - firstSent) / 1000),
    integrity: await readIntegrity(service.dbUrl, requestIds, targets.length),
    duplicateDeliveries: duplicates,
    lostCallbacks: requestIds.filter((id) => !byRequest.has(id)).length,
    non200: burst.non200,
  };
}

/** Commit times of each approver's decision or refusal on one request, polled every few ms. */
function watchDecisions(dbUrl: string, requestId: string) {
  const db = createDatabase(dbUrl, { maxConnections: 1 });
  const seen = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await db.prisma.$queryRaw<{ email: string }[]>`
        SELECT approver_email AS email FROM decisions WHERE request_id = ${requestId}::uuid
        UNION ALL
        SELECT payload->'approver'->>'email' FROM audit_events
         WHERE request_id = ${requestId}::uuid AND type = 'decision.refused'`;
      const now = Date.now();
      for (const { email } of rows) if (!seen.has(email)) seen.set(email, now);
      await sleep(5);
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
      await db.close();
    },
  };
}

async function quorumRound(service: Service, round: string): Promise<QuorumRound> {
  const tag = `quorum-${round}`;
  const [requestId] = await createRequests(service, QUORUM_ACTION, 1, tag);
  if (!requestId) throw new Error('no quorum request');
  const cards = await waitForCards(service, [requestId]);
  const targets = Array.from({ length: APPROVER_COUNT }, (_, approver) => ({ requestId, approver }));
  const decisions = watchDecisions(service.dbUrl, requestId);
  const burst = await sendClicks(service, targets, cards);
  await waitForSettled(service, [requestId], tag);
  await pollUntil(
    () => decisions.seen.size,
    (n) => n >= APPROVER_COUNT,
    { what: 'every quorum click settled', timeoutMs: 30_000, intervalMs: 20 },
  ).catch(() => undefined);
  await sleep(1000);
  await decisions.stop();
  const decisionMs: number[] = [];
  for (let i = 0; i < APPROVER_COUNT; i += 1) {
    const at = decisions.seen.get(approverEmail(i));
    if (at !== undefined) decisionMs.push(at - (burst.sentAt.get(i) as number));
  }
  // The click that completed the quorum is the decision appended just before the verdict event.
  const db = createDatabase(service.dbUrl, { maxConnections: 1 });
  const events = await db.prisma.auditEvent.findMany({
    where: { requestId },
    orderBy: { seq: 'asc' },
    select: { type: true, actor: true },
  });
  await db.close();
  const verdictIndex = events.findIndex((e) => e.type === 'request.approved');
  const deciding = verdictIndex > 0 ? events[verdictIndex - 1]?.actor : undefined;
  const decidingIndex = Array.from({ length: APPROVER_COUNT }, (_, i) => approverEmail(i)).indexOf(
    deciding ?? '',
  );
  const decidingSent = burst.sentAt.get(decidingIndex) ?? Number.NaN;
  const { byRequest, duplicates } = callbacksByRequest(service.receiver, tag);
  return {
    decisionMs,
    verdictMs: (service.watch.changes(requestId)[0] ?? Number.NaN) - decidingSent,
    callbackMs: (byRequest.get(requestId)?.[0] ?? Number.NaN) - decidingSent,
    integrity: await readIntegrity(service.dbUrl, [requestId], APPROVER_COUNT),
    duplicateDeliveries: duplicates,
    lostCallbacks: byRequest.has(requestId) ? 0 : 1,
    non200: burst.non200,
  };
}

const ms = (values: number[]) =>
  values.length ? `p50 ${percentile(values, 50)} p99 ${percentile(values, 99)} ms` : 'none';

function sumIntegrity(all: Integrity[]): Integrity {
  return all.reduce(
    (sum, i) => ({
      doubleVerdicts: sum.doubleVerdicts + i.doubleVerdicts,
      lostVerdicts: sum.lostVerdicts + i.lostVerdicts,
      lostClicks: sum.lostClicks + i.lostClicks,
      extraDeliveries: sum.extraDeliveries + i.extraDeliveries,
    }),
    { doubleVerdicts: 0, lostVerdicts: 0, lostClicks: 0, extraDeliveries: 0 },
  );
}

/** A latency row in ms whose goal is a ceiling (bench-row's figureBelow). */
function belowRow(
  name: string,
  figure: number,
  baseline: number | null,
  max: number,
  note: string,
): BenchRow {
  return figureBelow({ name, figure, unit: 'ms', baseline, note }, max);
}

function zeroRow(name: string, figure: number, baseline: number, note: string): BenchRow {
  return { name, figure, unit: 'count', baseline, ratio: null, goal: '= 0', pass: figure === 0, note };
}

export async function benchDecide({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 1 : 3;
  const direct: DirectFigures = await directBaseline(rounds);
  console.log(
    `   direct recordDecision: 200 requests ${ms(direct.single.latencyMs)}, ${direct.single.perSecond.toFixed(0)}/s; ` +
      `quorum ${ms(direct.quorum.latencyMs)}, ${direct.quorum.perSecond.toFixed(0)}/s`,
  );

  const fake = await startFakeSlack({ users: benchUsers() });
  const signingSecret = randomBytes(16).toString('hex');
  const policy = await writeTempPolicy(benchPolicyYaml());
  const bench = await createBenchDatabase();
  const db = createDatabase(bench.url, { maxConnections: 2 });
  const { key, callbackSecret } = await createApiKey(db, { name: 'bench' });
  await db.close();
  const receiver = await startCallbackReceiver({ secret: callbackSecret });
  const watch = await watchStatusChanges(bench.url);
  const statementsFile = join(await mkdtemp(join(tmpdir(), 'countersign-bench-statements-')), 'count');
  const server = await startServer({
    databaseUrl: bench.url,
    nodeArgs: [
      '--import',
      COUNT_STATEMENTS_MODULE,
      ...(process.env['DECIDE_SERVER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
    ],
    env: {
      COUNTERSIGN_BENCH_STATEMENTS_FILE: statementsFile,
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: fake.url,
      SLACK_POST_INTERVAL_MS: '0',
      COUNTERSIGN_POLICY: policy.path,
      COUNTERSIGN_CALLBACK_ALLOW: '127.0.0.1',
    },
  });
  const service: Service = {
    cpuMs: () => processCpuMs(server.pid),
    statements: () => Number(readFileSync(statementsFile, 'utf8')),
    url: server.url,
    key,
    dbUrl: bench.url,
    fake,
    driver: createSlackDriver({ url: server.url, signingSecret, responseUrls: () => fake.newResponseUrl() }),
    receiver,
    watch,
  };
  try {
    // The warm-up also fills the server's identity cache (users.info) for all 200 clickers.
    const warm = await singleRound(service, 'warm');
    console.log(
      `   warm-up (cold identity cache): verdict ${ms(warm.verdictMs)}, callback ${ms(warm.callbackMs)}, ` +
        `ack ${ms(warm.ackMs)}, server CPU ${warm.cpuMsPerClick.toFixed(1)} ms/click`,
    );
    const singles: SingleRound[] = [];
    const quorums: QuorumRound[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const single = await singleRound(service, String(round));
      singles.push(single);
      console.log(
        `   round ${round + 1} 200 requests: verdict ${ms(single.verdictMs)}, callback ${ms(single.callbackMs)}, ` +
          `ack ${ms(single.ackMs)}, ${single.decisionsPerSecond.toFixed(0)} verdicts/s, ` +
          `server CPU ${single.cpuMsPerClick.toFixed(1)} ms/click (direct ${direct.cpuMsPerCall.toFixed(1)}), ` +
          `${single.statementsPerClick.toFixed(1)} statements/click (direct ${direct.statementsPerCall.toFixed(1)}), ` +
          `${JSON.stringify(single.integrity)}, ` +
          `duplicate deliveries ${single.duplicateDeliveries}, lost callbacks ${single.lostCallbacks}`,
      );
      const quorum = await quorumRound(service, String(round));
      quorums.push(quorum);
      console.log(
        `   round ${round + 1} quorum ${QUORUM}, 200 clicks: decision ${ms(quorum.decisionMs)}, verdict ${quorum.verdictMs} ms, ` +
          `callback ${quorum.callbackMs} ms, ${JSON.stringify(quorum.integrity)}, duplicate deliveries ${quorum.duplicateDeliveries}`,
      );
    }
    const med = <T>(list: T[], pick: (item: T) => number) => median(list.map(pick));
    const p99 = (values: number[]) => (values.length ? percentile(values, 99) : Number.NaN);
    const directNote =
      'baseline: recordDecision called directly, 200 at once on a fresh database, per-call p99';
    const integrity = sumIntegrity([...singles.map((s) => s.integrity), ...quorums.map((q) => q.integrity)]);
    const directIntegrity = sumIntegrity(direct.integrity);
    const non200 = [...singles, ...quorums].reduce((sum, r) => sum + r.non200, 0);
    const lostCallbacks = [...singles, ...quorums].reduce((sum, r) => sum + r.lostCallbacks, 0);
    const duplicates = [...singles, ...quorums].reduce((sum, r) => sum + r.duplicateDeliveries, 0);
    const counted = `summed over ${rounds} round(s) of both scenarios; baseline: the same count for the direct calls`;
    return [
      belowRow(
        'decide click→verdict p99',
        med(singles, (s) => p99(s.verdictMs)),
        p99of(direct.single.latencyMs),
        100,
        directNote,
      ),
      belowRow(
        'decide click→callback p99',
        med(singles, (s) => p99(s.callbackMs)),
        p99of(direct.single.latencyMs),
        500,
        directNote,
      ),
      belowRow(
        'decide click ack p99',
        med(singles, (s) => p99(s.ackMs)),
        p99of(direct.single.latencyMs),
        3000,
        `Slack's 3 s limit; ${directNote}`,
      ),
      {
        name: 'decide verdicts/s',
        figure: med(singles, (s) => s.decisionsPerSecond),
        unit: 'verdicts/s',
        baseline: direct.single.perSecond,
        ratio: med(singles, (s) => s.decisionsPerSecond) / direct.single.perSecond,
        goal: 'ratio noted',
        pass: null,
        note: 'first click sent to last verdict committed; baseline: 200 direct recordDecision calls over their wall time',
      },
      belowRow(
        'decide quorum click→decision p99',
        med(quorums, (q) => p99(q.decisionMs)),
        p99of(direct.quorum.latencyMs),
        100,
        `quorum ${QUORUM} (the product's maximum), 200 clicks on one request: each click to its decision or refusal committed (polled every 5 ms); baseline: 200 direct calls on one request`,
      ),
      belowRow(
        'decide quorum click→verdict',
        med(quorums, (q) => q.verdictMs),
        p99of(direct.quorum.latencyMs),
        100,
        'from the click that completed the quorum to the verdict committed; baseline: direct per-call p99',
      ),
      belowRow(
        'decide quorum click→callback',
        med(quorums, (q) => q.callbackMs),
        p99of(direct.quorum.latencyMs),
        500,
        'from the click that completed the quorum to its callback received; baseline: direct per-call p99',
      ),
      figureBelow(
        {
          name: 'decide statements per click',
          figure: med(singles, (s) => s.statementsPerClick),
          unit: 'statements',
          baseline: direct.statementsPerCall,
          note:
            'every node-postgres statement the server sent from the burst until verdicts, cards, callbacks and ' +
            "requesters' notices were done, per click (pg-boss's own fetches included); baseline: the statements of " +
            'one direct recordDecision call',
        },
        13,
      ),
      figureBelow(
        {
          name: 'decide server CPU per click',
          figure: med(singles, (s) => s.cpuMsPerClick),
          unit: 'ms',
          baseline: direct.cpuMsPerCall,
          note: 'server CPU from the burst until every verdict and callback, per click; baseline: CPU of this process per direct recordDecision call in the same run',
        },
        6,
      ),
      zeroRow('decide double verdicts', integrity.doubleVerdicts, directIntegrity.doubleVerdicts, counted),
      zeroRow(
        'decide lost clicks+verdicts',
        integrity.lostClicks + integrity.lostVerdicts + lostCallbacks + non200,
        directIntegrity.lostClicks + directIntegrity.lostVerdicts,
        `clicks without a decision or refusal, requests without a verdict, verdicts without a callback, non-200 acks; ${counted}`,
      ),
      zeroRow(
        'decide duplicate deliveries',
        duplicates + integrity.extraDeliveries,
        directIntegrity.extraDeliveries,
        `callbacks received twice with one Countersign-Delivery id, plus delivery rows beyond one per verdict; ${counted}`,
      ),
    ];
  } finally {
    await server.stop();
    await watch.close();
    await receiver.close();
    await fake.close();
    await policy.remove();
    await bench.drop();
  }
}

/** utime + stime of a process from /proc (clock ticks of 10 ms on Linux). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function p99of(values: number[]): number | null {
  return values.length ? percentile(values, 99) : null;
}
