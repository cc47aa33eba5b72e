// Wires configuration → database → migrations → status feed → HTTP, and shuts them down in
// reverse order. Nothing else happens here.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import packageJson from '../../../package.json' with { type: 'json' };
import { warnAboutUnconnectedPolicyChannels } from './approvals/check-channels.ts';
import { startExpirySweeper } from './approvals/expire-requests.ts';
import { startCheckpointTimer } from './audit/create-checkpoint.ts';
import { establishPolicy, readPolicyFile } from './approvals/policy/establish-policy.ts';
import { followPolicyVersions } from './approvals/policy/follow-policy-versions.ts';
import { createLivePolicy } from './approvals/policy/live-policy.ts';
import { recordPolicyLoaded } from './approvals/policy/record-policy-loaded.ts';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { withOwnerClient } from './db/owner-client.ts';
import { resolveDatabaseUrl } from './db/resolve-database-url.ts';
import { resolveSessionUrl } from './db/runtime-role.ts';
import { startStatusChangeFeed } from './db/status-change-feed.ts';
import { waitForDatabase } from './db/wait-for-database.ts';
import { systemClock, type Clock } from './deps.ts';
import { startCallbackWorkers } from './delivery/start-callback-workers.ts';
import { startBreakGlassWorkers } from './approvals/break-glass/review-break-glass.ts';
import { startDelegationWorkers } from './approvals/delegation/delegations.ts';
import { parseAllowList, systemLookup } from './approvals/outbox/url-guard.ts';
import { configuredChatPlatforms, createChatIntegrations } from './chat/create-chat-integrations.ts';
import { chatFlushExpireSeconds } from './chat/chat-integration.ts';
import { startChatWorkers } from './chat/start-chat-workers.ts';
import { answerClientErrors } from './http/answer-client-error.ts';
import { loadGatewayFile, systemSecretReader } from './gateway/load-gateway-file.ts';
import { createHttpApp } from './http/app.ts';
import { trackConnections } from './http/track-connections.ts';
import { startFollowUpWorkers } from './chat/follow-up/start-follow-up-workers.ts';
import { createJobQueue } from './jobs/job-queue.ts';
import type { Logger } from './observability/logger.ts';
import { redactUrl } from './observability/logger.ts';
import { createMetrics } from './metrics/metrics.ts';
import { loadReceiptKey } from './receipts/load-receipt-key.ts';
import { registerEventKey } from './audit/chain-store.ts';
import { createEventSigner, loadEventKey } from './audit/event-key.ts';
import { createReceiptSigner } from './receipts/sign-receipt.ts';
import { createWebConsole } from './web/create-web-console.ts';

export interface StartServerOptions {
  config: Config;
  log: Logger;
  clock?: Clock;
  /** Where env:NAME secrets of the gateway file are read (the process environment for `serve`). */
  secretEnv?: NodeJS.ProcessEnv;
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
  secretEnv = {},
}: StartServerOptions): Promise<RunningServer> {
  // Checked before anything starts: a bad policy file stops start-up even when a stored version wins.
  const policyFile = await readPolicyFile(config.COUNTERSIGN_POLICY);
  // Checked before anything starts: a bad gateway file (or a secret it cannot read) stops start-up.
  const gatewayConfig = config.COUNTERSIGN_GATEWAY
    ? await loadGatewayFile(config.COUNTERSIGN_GATEWAY, systemSecretReader(secretEnv))
    : undefined;
  const database = await resolveDatabaseUrl(config, log, { createEmbedded: true });
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
    const eventKey = await loadEventKey({
      setting: config.COUNTERSIGN_EVENT_KEY,
      file: config.COUNTERSIGN_EVENT_KEY_FILE,
      log,
    });
    await withOwnerClient(database.url, (client) => registerEventKey(client, eventKey));
    // Migrations, the receipt key and the event key's registration above ran as the owner; everything below runs as the runtime role.
    const sessionUrl = await resolveSessionUrl({
      ownerUrl: database.url,
      embedded: database.embedded,
      role: config.COUNTERSIGN_RUNTIME_ROLE,
      runtimeUrl: config.COUNTERSIGN_RUNTIME_DATABASE_URL,
      log,
    });
    const db = createDatabase(sessionUrl);
    const policy = createLivePolicy(await establishPolicy(db, policyFile, log, clock.now()));
    log.info(
      { policy: policy.source, version: policy.version, rules: policy.rules.map((r) => r.name) },
      'policy loaded',
    );
    await recordPolicyLoaded(db, policy, clock.now());
    const policyFollower = await followPolicyVersions({ url: sessionUrl, db, live: policy, log });
    const feed = await startStatusChangeFeed(sessionUrl, log);
    const shutdown = new AbortController();
    const metrics = createMetrics(db.prisma);
    const jobs = createJobQueue({
      url: sessionUrl,
      log,
      pollingIntervalSeconds: config.COUNTERSIGN_JOB_POLL_S,
      chatFlushExpireSeconds: chatFlushExpireSeconds(config, configuredChatPlatforms(config)),
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
    const chatPlatforms = new Set<string>();
    const deps = {
      db,
      clock,
      log,
      policy,
      jobs,
      callbacks,
      chatPlatforms,
      receipts: createReceiptSigner(receiptKey),
      events: createEventSigner(eventKey),
      metrics: { chatApiCalls: metrics.chatApiCalls },
      secrets: systemSecretReader(secretEnv),
    };
    await startCallbackWorkers(deps, config.COUNTERSIGN_CALLBACK_WORKERS);
    await startBreakGlassWorkers(deps);
    await startDelegationWorkers(deps);
    const chats = await createChatIntegrations(config, deps);
    for (const chat of chats) chatPlatforms.add(chat.platform);
    await warnAboutUnconnectedPolicyChannels(deps);
    await startChatWorkers(
      { ...deps, publicUrl: config.COUNTERSIGN_PUBLIC_URL },
      chats,
      config.COUNTERSIGN_CHAT_WORKERS,
    );
    await startFollowUpWorkers(
      { ...deps, publicUrl: config.COUNTERSIGN_PUBLIC_URL },
      chats,
      config.COUNTERSIGN_CHAT_WORKERS,
    );
    const sweeper = startExpirySweeper(deps, config.COUNTERSIGN_EXPIRY_SWEEP_MS);
    const checkpoints = startCheckpointTimer(deps, config.COUNTERSIGN_CHECKPOINT_INTERVAL_MIN);
    // The gateway's modules (the MCP SDK's client and server) load only when it is configured.
    const gateway = gatewayConfig
      ? await import('./gateway/start-gateway.ts').then(({ startGateway }) =>
          startGateway(gatewayConfig, log, packageJson.version),
        )
      : undefined;
    const ctx = {
      deps,
      feed,
      shutdown: shutdown.signal,
      chatLinks: chats.map((chat) => chat.link),
      gateway,
    };
    const app = createHttpApp({
      ctx,
      metrics,
      log,
      version: packageJson.version,
      chatRouters: chats.map((chat) => chat.router),
      gatewayRouter:
        gateway && (await import('./gateway/mount-gateway.ts')).createGatewayRouter(ctx, gateway),
      webRouter: await createWebConsole(config, deps),
      publicUrl: config.COUNTERSIGN_PUBLIC_URL,
    });

    const server = app.listen(config.PORT, config.HOST);
    answerClientErrors(server, log);
    const connections = trackConnections(server);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`;
    log.info({ url, embeddedDatabase: database.embedded }, 'countersign is listening');
    for (const chat of chats) chat.start?.();

    let closing: Promise<void> | undefined;
    // The whole shutdown fits in the grace period: HTTP requests in flight get what they need of it,
    // job handlers in flight the rest (those still running then are failed for a prompt retry).
    const close = async () => {
      const deadline = performance.now() + config.COUNTERSIGN_SHUTDOWN_GRACE_MS;
      const remaining = () => Math.max(0, deadline - performance.now());
      log.info('shutting down: no new connections, finishing in-flight requests');
      shutdown.abort();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      connections.drain();
      const graceOver = sleep(remaining(), 'timeout' as const, { ref: false });
      if ((await Promise.race([drained.then(() => 'drained' as const), graceOver])) === 'timeout') {
        log.warn('grace period over: closing remaining connections');
        server.closeAllConnections();
        await drained;
      }
      await Promise.race([
        Promise.all(chats.map((chat) => chat.stop?.() ?? Promise.resolve())),
        sleep(remaining(), undefined, { ref: false }),
      ]);
      const stopJobs = jobs.stop(remaining());
      await Promise.race([
        Promise.all([sweeper.stop(), checkpoints.stop()]),
        sleep(remaining(), undefined, { ref: false }),
      ]);
      await stopJobs;
      await gateway?.close();
      await policyFollower.close();
      await feed.close();
      await db.close();
      await database.release();
      log.info(
        { tookMs: Math.round(config.COUNTERSIGN_SHUTDOWN_GRACE_MS - (deadline - performance.now())) },
        'shut down',
      );
    };
    return { url, port, db, close: () => (closing ??= close()) };
  } catch (error) {
    await database.release();
    throw error;
  }
}
