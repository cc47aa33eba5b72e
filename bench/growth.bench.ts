// Growth: the same operations on a history of 10k audit events and on one of 1 M (100k with
// --quick), each through the real server process, and each reported as the ratio large ÷ small
// in the same run. Intake (POST /v1/approvals), the card posted after it (the fake Slack's receipt
// of chat.postMessage), a click to the card's update (a signed approve click to the card's
// chat.update), the list with the documented filters (GET /v1/approvals?status=&action=&requester=)
// and the compliance report over a 6-hour window of the seeded history (GET /v1/audit/report).
// The histories are seeded once and kept (lib/growth-history.ts); each run works on clones.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { APPROVE_ACTION_ID } from '../apps/server/src/chat/slack/cards.ts';
import { startFakeSlack, type FakeSlack } from '../test/support/fake-slack.ts';
import { writeTempPolicy } from '../test/support/policy-files.ts';
import { createSlackDriver, type SlackDriver } from '../test/support/slack-driver.ts';
import { median, percentile, type BenchOptions, type BenchRow } from './lib/bench-row.ts';
import {
  ensureGrowthSeed,
  growthHistory,
  GROWTH_ACTIONS,
  GROWTH_CHANNEL_ID,
  REPORT_WINDOW_MS,
  type GrowthHistory,
} from './lib/growth-history.ts';
import { startServer } from './lib/server-process.ts';

export const SMALL_EVENTS = 10_000;
export const LARGE_EVENTS = 1_000_000;
export const QUICK_LARGE_EVENTS = 100_000;
export const MAX_GROWTH = 1.5;
const APPROVER_ID = 'U0GROWTHAPPROVER';
const APPROVER = 'approver@example.com';
const CARD_TIMEOUT_MS = 30_000;

/** The list filter sets measured (GET /v1/approvals query strings). */
export const LIST_FILTERS: Record<string, string> = {
  action: `action=${GROWTH_ACTIONS[0]}`,
  'status+action': `status=pending&action=${GROWTH_ACTIONS[1]}`,
  'status+action+requester': `status=approved&action=${GROWTH_ACTIONS[2]}&requester=dev7%40example.com`,
  requester: 'requester=dev11%40example.com',
};

/** What one size measured: each figure a p50 (or median) in ms. */
export interface SizeFigures {
  intakeMs: number;
  cardPostedMs: number;
  clickToCardMs: number;
  listMs: Record<string, number>;
  reportMs: number;
}

/** The rows: each figure at the large size over the small, goal ≤ MAX_GROWTH. */
export function growthRows(
  small: SizeFigures,
  large: SizeFigures,
  sizes: { small: number; large: number },
): BenchRow[] {
  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  const note = `${label(sizes.large)} events ÷ ${label(sizes.small)} events, same run; baseline: the figure at ${label(sizes.small)}`;
  const row = (name: string, figure: number, baseline: number): BenchRow => {
    const ratio = baseline > 0 ? figure / baseline : null;
    return {
      name: `growth ${name}`,
      figure,
      unit: 'ms',
      baseline,
      ratio,
      goal: `≤ ${MAX_GROWTH.toFixed(1)}× at ${label(sizes.small)}`,
      pass: ratio === null ? null : ratio <= MAX_GROWTH,
      note,
    };
  };
  return [
    row('intake p50', large.intakeMs, small.intakeMs),
    row('card posted p50', large.cardPostedMs, small.cardPostedMs),
    row('click→card p50', large.clickToCardMs, small.clickToCardMs),
    ...Object.keys(LIST_FILTERS).map((name) =>
      row(`list ${name} p50`, large.listMs[name] ?? Number.NaN, small.listMs[name] ?? Number.NaN),
    ),
    row('report 6h', large.reportMs, small.reportMs),
  ];
}

function policyYaml(): string {
  return `defaults:
  channel: slack:${GROWTH_CHANNEL_ID}
rules:
  - name: bench-growth
    actions: ["*"]
    approvers: [${APPROVER}]
`;
}

interface Live {
  url: string;
  db: pg.Client;
  key: string;
  fake: FakeSlack;
  driver: SlackDriver;
}

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + CARD_TIMEOUT_MS;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** One request: its POST, its card posted, then an approve click to the card's update. */
async function intakeAndClick(
  live: Live,
  i: number,
): Promise<{ intake: number; card: number; click: number }> {
  const sent = Date.now();
  const response = await fetch(`${live.url}/v1/approvals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${live.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      action: GROWTH_ACTIONS[i % GROWTH_ACTIONS.length],
      title: `Growth bench #${i}`,
      requester: { email: `dev${i % 97}@example.com` },
    }),
  });
  const answered = Date.now();
  if (response.status !== 201)
    throw new Error(`intake answered ${response.status}: ${await response.text()}`);
  const { id } = (await response.json()) as { id: string };
  const card = await waitFor('the card posted', () =>
    live.fake
      .messages(GROWTH_CHANNEL_ID)
      .find((m) => m.threadTs === undefined && m.metadata?.event_payload['request_id'] === id),
  );
  // The server stores the card's ts after Slack's answer; a click before that is refused as foreign.
  for (const deadline = Date.now() + CARD_TIMEOUT_MS; ; await sleep(2)) {
    const { rows } = await live.db.query(
      'SELECT 1 FROM chat_cards WHERE request_id = $1 AND message_id = $2',
      [id, card.ts],
    );
    if (rows.length > 0) break;
    if (Date.now() > deadline) throw new Error('timed out waiting for the card to be stored');
  }
  const updatesBefore = live.fake.updates(GROWTH_CHANNEL_ID).filter((u) => u.ts === card.ts).length;
  const clicked = Date.now();
  const click = await live.driver.send(
    live.driver.blockAction({
      userId: APPROVER_ID,
      channelId: GROWTH_CHANNEL_ID,
      messageTs: card.ts,
      actionId: APPROVE_ACTION_ID,
      message: card,
    }),
  );
  if (click.status !== 200) throw new Error(`the click answered ${click.status}`);
  const update = await waitFor(
    'the card updated',
    () => live.fake.updates(GROWTH_CHANNEL_ID).filter((u) => u.ts === card.ts)[updatesBefore],
  );
  return {
    intake: answered - sent,
    card: card.postedAt.getTime() - sent,
    click: update.at.getTime() - clicked,
  };
}

/** Most warm-up runs before a figure is measured anyway. */
const MAX_WARMUPS = 8;
/** Two successive runs within this share of each other count as the steady state. */
const STEADY_WITHIN = 0.15;

/** Runs `once` until two successive runs agree (or MAX_WARMUPS); answers the times it took. */
async function warmUntilSteady(once: () => Promise<number>): Promise<number[]> {
  const times = [await once()];
  while (times.length < MAX_WARMUPS) {
    const ms = await once();
    const last = times[times.length - 1] ?? ms;
    times.push(ms);
    if (Math.abs(ms - last) <= STEADY_WITHIN * Math.max(ms, last)) break;
  }
  return times;
}

async function timedGet(url: string, key: string): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  const body = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200)
    throw new Error(`GET ${url} answered ${response.status}: ${body.slice(0, 300)}`);
  return { ms, body };
}

async function measureSize(history: GrowthHistory, quick: boolean): Promise<SizeFigures> {
  const fake = await startFakeSlack({
    users: { [APPROVER_ID]: { name: 'approver', realName: 'Approver', email: APPROVER } },
  });
  const signingSecret = randomBytes(16).toString('hex');
  const policy = await writeTempPolicy(policyYaml());
  const server = await startServer({
    databaseUrl: history.url,
    env: {
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_API_URL: fake.url,
      // Short, so the last-post look-up runs for every card without a wait in the figure.
      SLACK_POST_INTERVAL_MS: '1',
      COUNTERSIGN_POLICY: policy.path,
    },
  });
  const db = new pg.Client({ connectionString: history.url });
  await db.connect();
  const live: Live = {
    db,
    url: server.url,
    key: history.key,
    fake,
    driver: createSlackDriver({ url: server.url, signingSecret, responseUrls: () => fake.newResponseUrl() }),
  };
  try {
    const requests = quick ? 20 : 60;
    const warm = 5;
    const intake: number[] = [];
    const card: number[] = [];
    const click: number[] = [];
    for (let i = 0; i < warm + requests; i += 1) {
      const one = await intakeAndClick(live, i);
      if (i < warm) continue;
      intake.push(one.intake);
      card.push(one.card);
      click.push(one.click);
    }

    const listRounds = quick ? 20 : 60;
    const listMs: Record<string, number> = {};
    for (const [name, filter] of Object.entries(LIST_FILTERS)) {
      const url = `${server.url}/v1/approvals?${filter}`;
      for (let i = 0; i < warm; i += 1) await timedGet(url, history.key);
      const times: number[] = [];
      for (let i = 0; i < listRounds; i += 1) times.push((await timedGet(url, history.key)).ms);
      listMs[name] = percentile(times, 50);
    }

    const to = history.end;
    const from = new Date(to.getTime() - REPORT_WINDOW_MS);
    const reportUrl = `${server.url}/v1/audit/report?from=${from.toISOString()}&to=${to.toISOString()}&format=csv`;
    const reportRounds = quick ? 2 : 3;
    // Warm up to the steady state at every size: a fresh clone of the large history starts with
    // nothing of it in Postgres's cache, so its first reports measure the cold reads of the clone.
    const warmups = await warmUntilSteady(() => timedGet(reportUrl, history.key).then((r) => r.ms));
    const reports: number[] = [];
    let rows = 0;
    for (let i = 0; i < reportRounds; i += 1) {
      const { ms, body } = await timedGet(reportUrl, history.key);
      reports.push(ms);
      rows = body.trimEnd().split('\n').length - 1;
    }

    const figures: SizeFigures = {
      intakeMs: percentile(intake, 50),
      cardPostedMs: percentile(card, 50),
      clickToCardMs: percentile(click, 50),
      listMs,
      reportMs: median(reports),
    };
    const lists = Object.entries(listMs)
      .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
      .join(', ');
    console.log(
      `   ${history.events.toLocaleString('en-US')} events: intake p50 ${figures.intakeMs} ms, card posted p50 ${figures.cardPostedMs} ms ` +
        `(max ${Math.max(...card)}), click→card p50 ${figures.clickToCardMs} ms (max ${Math.max(...click)}); ` +
        `list p50 ms: ${lists}; report 6h ${figures.reportMs.toFixed(0)} ms (${rows} CSV lines; ` +
        `warm-up runs ${warmups.map((ms) => ms.toFixed(0)).join(', ')} ms)`,
    );
    return figures;
  } finally {
    await db.end();
    await server.stop();
    await fake.close();
    await policy.remove();
  }
}

async function measure(events: number, quick: boolean): Promise<SizeFigures> {
  const history = await growthHistory(events);
  try {
    return await measureSize(history, quick);
  } finally {
    await history.drop();
  }
}

export async function benchGrowth({ quick }: BenchOptions): Promise<BenchRow[]> {
  const sizes = { small: SMALL_EVENTS, large: quick ? QUICK_LARGE_EVENTS : LARGE_EVENTS };
  // Both seeds first, so that seeding the large one does not load the machine while the small one runs.
  await ensureGrowthSeed(sizes.small);
  await ensureGrowthSeed(sizes.large);
  const small = await measure(sizes.small, quick);
  const large = await measure(sizes.large, quick);
  return growthRows(small, large, sizes);
}
