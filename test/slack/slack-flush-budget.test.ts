// A flush job works a channel for at most SLACK_FLUSH_BUDGET_MS and hands the rest to a fresh job
// (so a crashed worker's job expires soon instead of holding the channel for 15 minutes); a
// Retry-After longer than the budget is waited out by a delayed job instead of inside one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { metadataRequestId, startSlackHarness, type SlackHarness } from '../support/slack-harness.ts';

const SLOW = { timeoutMs: 60_000 };

interface FlushJob {
  state: string;
  createdOn: Date;
  startAfter: Date;
  expireSeconds: number;
}

describe('Slack flush jobs within their budget', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({
      env: { SLACK_POST_INTERVAL_MS: '300', SLACK_FLUSH_BUDGET_MS: '500' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const flushJobs = (channel: string) =>
    withPgClient(h.t.database.url, async (client) => {
      const { rows } = await client.query<FlushJob>(
        `SELECT state::text AS state, created_on AS "createdOn", start_after AS "startAfter",
                extract(epoch FROM expire_in)::float8 AS "expireSeconds"
           FROM pgboss.job WHERE name = 'chat-flush' AND singleton_key = $1 ORDER BY created_on`,
        [`slack:${channel}`],
      );
      return rows;
    });

  it('hands a long channel over from job to job: every card posted, in order, once', async () => {
    const channel = 'C0BUDGET';
    // The first post hangs for longer than the budget, so every card exists before the first job
    // can take a second one: whatever the machine's speed, that job must hand over.
    h.fake.failNext('chat.postMessage', { delayMs: 1500 });
    const ids: string[] = [];
    for (let i = 1; i <= 6; i += 1) {
      ids.push(
        (await h.create({ action: 'deploy.staging', title: `Card ${i}`, channel: `slack:${channel}` })).id,
      );
    }
    for (const id of ids) await h.waitForCard(id, channel, SLOW);
    const posted = h.fake.messages(channel);
    expect(posted.map(metadataRequestId)).toEqual(ids);

    // Without hand-overs there would be two jobs: the first, and one queued while it ran. Each
    // job of the channel expires a minute after its budget.
    const jobs = await flushJobs(channel);
    expect(jobs.length).toBeGreaterThanOrEqual(3);
    for (const job of jobs) expect(job.expireSeconds).toBe(61);
  });

  it('waits out a Retry-After longer than the budget in a delayed job, then posts', async () => {
    const channel = 'C0LONGWAIT';
    h.fake.failNext('chat.postMessage', { status: 429, retryAfterSeconds: 2 });
    const created = await h.create({ action: 'deploy.staging', channel: `slack:${channel}` });
    await h.waitForCard(created.id, channel, SLOW);

    const posts = h.fake.calls('chat.postMessage').filter((c) => c.args['channel'] === channel);
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    const [limited, ok] = posts;
    // Retry-After is honoured: the second post came at least 2 s after the 429 (a lower bound).
    expect((ok?.at.getTime() ?? 0) - (limited?.at.getTime() ?? 0)).toBeGreaterThanOrEqual(1900);
    const delayed = (await flushJobs(channel)).filter(
      (job) => job.startAfter.getTime() - job.createdOn.getTime() >= 1900,
    );
    expect(delayed).toHaveLength(1);
  });
});
