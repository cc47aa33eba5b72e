// Wires configuration → database → migrations → status feed → HTTP, and shuts them down in
// reverse order. Nothing else happens here.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import packageJson from '../../../package.json' with { type: 'json' };
import { startExpirySweeper } from './approvals/expire-requests.ts';
import { loadPolicy } from './approvals/policy/load-policy.ts';
import { recordPolicyLoaded } from './approvals/policy/record-policy-loaded.ts';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { resolveDatabaseUrl } from './db/resolve-database-url.ts';
import { startStatusChangeFeed } from './db/status-change-feed.ts';
import { waitForDatabase } from './db/wait-for-database.ts';
import { systemClock, type Clock, type Deps } from './deps.ts';
import { startCallbackWorkers } from './delivery/start-callback-workers.ts';
import { parseAllowList, systemLookup } from './delivery/url-guard.ts';
import { createSlackIntegration, type SlackIntegration } from './chat/slack/slack-app.ts';
import { startChatWorkers } from './chat/start-chat-workers.ts';
import { createHttpApp } from './http/app.ts';
import { createJobQueue } from './jobs/job-queue.ts';
import type { Logger } from './observability/logger.ts';
import { redactUrl } from './observability/logger.ts';
import { createMetrics } from './observability/metrics.ts';
import { loadReceiptKey } from './receipts/load-receipt-key.ts';
import { createReceiptSigner } from './receipts/sign-receipt.ts';

export interface StartServerOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
}

export interface RunningServer {
  url: string;
  port: number;
  db: Database;
  /** Graceful stop: refuse new connections, let in-flight requests finish, close the pool. */
  close(): Promise<void>;
}

export async function startServer({
  config,
  log,
  clock = systemClock,
}: StartServerOptions): Promise<RunningServer> {
  const policy = await loadPolicy(config.COUNTERSIGN_POLICY);
  log.info({ policy: policy.source, rules: policy.rules.map((r) => r.name) }, 'policy loaded');
  const database = await resolveDatabaseUrl(config, log);
  try {
    log.info({ database: redactUrl(database.url), embedded: database.embedded }, 'connecting to Postgres');
    if (!database.embedded)
      await waitForDatabase({ url: database.url, timeoutMs: config.COUNTERSIGN_DB_WAIT_MS, log });
    await migrate(database.url, log);
    const receiptKey = await loadReceiptKey({
      setting: config.COUNTERSIGN_RECEIPT_KEY,
      databaseUrl: database.url,
      log,
    });
    const db = createDatabase(database.url);
    await recordPolicyLoaded(db.prisma, policy, clock.now());
    const feed = await startStatusChangeFeed(database.url, log);
    const shutdown = new AbortController();
    const metrics = createMetrics(db.prisma);
    const jobs = createJobQueue({
      url: database.url,
      log,
      pollingIntervalSeconds: config.COUNTERSIGN_JOB_POLL_S,
      // A flush job stops taking new cards at its budget; the call in flight and the post slot may follow.
      chatFlushExpireSeconds:
        Math.ceil((config.SLACK_FLUSH_BUDGET_MS + config.SLACK_POST_INTERVAL_MS) / 1000) + 60,
      callbackRetry: {
        retryLimit: config.COUNTERSIGN_CALLBACK_RETRY_LIMIT,
        retryDelaySeconds: config.COUNTERSIGN_CALLBACK_RETRY_DELAY_S,
        expireInSeconds: Math.ceil(config.COUNTERSIGN_CALLBACK_TIMEOUT_MS / 1000) + 60,
      },
    });
    await jobs.start();
    const callbacks = {
      allow: parseAllowList(config.COUNTERSIGN_CALLBACK_ALLOW),
      lookupAll: systemLookup,
      timeoutMs: config.COUNTERSIGN_CALLBACK_TIMEOUT_MS,
    };
    const chatPlatforms = new Set(config.SLACK_BOT_TOKEN ? ['slack'] : []);
    const deps = {
      db,
      clock,
      log,
      policy,
      jobs,
      callbacks,
      chatPlatforms,
      receipts: createReceiptSigner(receiptKey),
      metrics: { chatApiCalls: metrics.chatApiCalls },
    };
    await startCallbackWorkers(deps, config.COUNTERSIGN_CALLBACK_WORKERS);
    const slack = createSlackFromConfig(config, deps);
    await startChatWorkers(
      deps,
      new Map(slack ? [['slack', slack.flush] as const] : []),
      config.COUNTERSIGN_CHAT_WORKERS,
    );
    const sweeper = startExpirySweeper(deps, config.COUNTERSIGN_EXPIRY_SWEEP_MS);
    const app = createHttpApp({
      ctx: { deps, feed, shutdown: shutdown.signal },
      metrics,
      log,
      version: packageJson.version,
      chatRouters: slack ? [slack.router] : [],
    });

    const server = app.listen(config.PORT, config.HOST);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
    log.info({ url, embeddedDatabase: database.embedded }, 'countersign is listening');

    let closing: Promise<void> | undefined;
    const close = async () => {
      log.info('shutting down: no new connections, finishing in-flight requests');
      shutdown.abort();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const graceOver = sleep(config.COUNTERSIGN_SHUTDOWN_GRACE_MS, 'timeout' as const, { ref: false });
      if ((await Promise.race([drained.then(() => 'drained' as const), graceOver])) === 'timeout') {
        log.warn('grace period over: closing remaining connections');
        server.closeAllConnections();
        await drained;
      }
      await sweeper.stop();
      await jobs.stop();
      await feed.close();
      await db.close();
      await database.release();
      log.info('shut down');
    };
    return { url, port, db, close: () => (closing ??= close()) };
  } catch (error) {
    await database.release();
    throw error;
  }
}

function createSlackFromConfig(config: Config, deps: Deps): SlackIntegration | undefined {
  if (!config.SLACK_BOT_TOKEN || !config.SLACK_SIGNING_SECRET) return undefined;
  deps.log.info({ apiUrl: config.SLACK_API_URL ?? 'https://slack.com/api/' }, 'Slack enabled');
  return createSlackIntegration(deps, {
    botToken: config.SLACK_BOT_TOKEN,
    signingSecret: config.SLACK_SIGNING_SECRET,
    apiUrl: config.SLACK_API_URL,
    postIntervalMs: config.SLACK_POST_INTERVAL_MS,
    flushBudgetMs: config.SLACK_FLUSH_BUDGET_MS,
  });
}
