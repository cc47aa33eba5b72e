// A card whose post reached Slack while Postgres was stopping: the server marked the post as
// attempted, Slack took the message, and the message's ts could not be stored. When the database
// is back the flush must adopt that message (found by its metadata), never leave a second card with
// live buttons next to it — also when Slack first refuses the history look-up (429, as its
// conversations.history limits do for most apps). Run against a Postgres cluster of the test's own
// and a `countersign serve` child, as the rest of the fault suite.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { createApiKey, type CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { cliEnv, freePort, killRunningClis, startCli, type CliProcess } from '../support/cli.ts';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.ts';
import { pollUntil } from '../support/poll.ts';
import { CHANNEL, SLACK_USERS, hasButtons, metadataRequestId } from '../support/slack-harness.ts';
import {
  createClusterDatabase,
  findPostgresBin,
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '../support/throwaway-postgres.ts';

const bin = findPostgresBin();

describe.skipIf(!bin)('a Slack card posted while the database was stopping', () => {
  let cluster: ThrowawayPostgres;
  let fake: FakeSlack;
  let serve: CliProcess;
  let baseUrl: string;
  let client: CreatedApiKey;
  let db: Database;

  beforeAll(async () => {
    if (!bin) return;
    cluster = await startThrowawayPostgres(bin);
    const databaseUrl = await createClusterDatabase(cluster, 'countersign');
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
        COUNTERSIGN_JOB_POLL_S: '0.5',
        COUNTERSIGN_SHUTDOWN_GRACE_MS: '3000',
      }),
    );
    await serve.waitForLog((line) => line['msg'] === 'countersign is listening');
    db = createDatabase(databaseUrl);
    client = await createApiKey(db, { name: 'card-outage' });
  });

  afterAll(async () => {
    await killRunningClis();
    await db?.close();
    await fake?.close();
    await cluster?.destroy();
  });

  const cardsOf = (requestId: string) =>
    fake.messages(CHANNEL).filter((m) => metadataRequestId(m) === requestId);

  it('adopts the message that reached Slack and posts no second live card', async () => {
    // Slack holds the post long enough for the database to go away meanwhile, and then refuses
    // the first history look-up with a 429.
    fake.failNext('chat.postMessage', { delayMs: 4000 });
    fake.failNext('conversations.history', { status: 429, retryAfterSeconds: 1 });

    const answer = await fetch(`${baseUrl}/v1/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        action: 'deploy.staging',
        title: 'Posted while the database was stopping',
        requester: { email: 'alice@example.com' },
        channel: `slack:${CHANNEL}`,
      }),
    });
    expect(answer.status).toBe(201);
    const requestId = String(((await answer.json()) as Record<string, unknown>)['id']);

    await fake.waitForCalls('chat.postMessage', 1, { timeoutMs: 30_000 });
    await cluster.stop();
    const stoppedAt = Date.now();
    const [posted] = await fake.waitForMessages(CHANNEL, 1, { timeoutMs: 30_000 });
    // The scenario really happened: Slack took the message only after the database was gone, and
    // the flush failed to store its ts.
    expect(Number(posted?.ts) * 1000).toBeGreaterThan(stoppedAt);
    await serve.waitForLog(
      (line) => line['msg'] === 'database unavailable: job paused' && line['queue'] === 'chat-flush',
    );
    await cluster.start();

    await pollUntil(
      async () =>
        (
          await db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM chat_cards WHERE shown_version < version`,
          )
        ).rows[0]?.n,
      (n) => n === 0,
      { what: 'the card shown', timeoutMs: 60_000, intervalMs: 250 },
    );
    const { rows } = await db.pool.query<{ message_id: string | null }>(
      `SELECT message_id FROM chat_cards WHERE request_id = $1::uuid`,
      [requestId],
    );
    expect(rows).toEqual([{ message_id: posted?.ts }]);
    // It went through the look-up (the crash path), which Slack refused once and then answered.
    const lookups = fake.calls('conversations.history');
    expect(lookups[0]?.status).toBe(429);
    expect(lookups.some((c) => c.ok)).toBe(true);

    // One card for the request, the adopted one, with its buttons; no other message is live.
    const cards = cardsOf(requestId);
    expect(cards.map((m) => m.ts)).toEqual([posted?.ts]);
    expect(cards.every(hasButtons)).toBe(true);
    expect(fake.calls('chat.postMessage').filter((c) => c.ok)).toHaveLength(1);

    expect(serve.child.exitCode, serve.stderr()).toBeNull();
  });
});
