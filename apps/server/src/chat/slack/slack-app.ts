// The Slack integration: a Bolt app on POST /slack/events (events, interactivity and slash
// commands on one URL, signature verification always on) or, with an app-level token, over Socket
// Mode; the same handlers either way, plus the card transport that posts and updates cards through
// the Web API at SLACK_API_URL (which also answers apps.connections.open).
import { App, ExpressReceiver, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import express from 'express';
import type { Deps } from '../../deps.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ChatIntegration } from '../chat-integration.ts';
import { countChatCalls } from '../count-chat-call.ts';
import type { FlushSettings } from '../flush-channel.ts';
import { createIdentityCache } from '../identity-cache.ts';
import { createPlatformLink, type PlatformLink } from '../platform-link.ts';
import { registerSlackHandlers } from './handlers.ts';
import { answerSlackProcessError, isMalformedSlackPayload, slackPayloadGuard } from './payload-guard.ts';
import { registerRevocationHandlers } from './revocation-events.ts';
import { registerReportCommand } from './report-command.ts';
import { classifySlackError, createSlackTransport } from './slack-transport.ts';
import { slackTimestampGuard } from './timestamp-guard.ts';
import { createSlackWorkspaces } from './workspace.ts';
import { createSlackNotifier } from './slack-notifier.ts';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackSettings {
  botToken: string;
  /** HTTP mode: requests to /slack/events, signed with this secret. */
  signingSecret: string | undefined;
  /** Socket Mode (xapp-…): Slack's events come over a socket opened with this token. */
  appToken: string | undefined;
  apiUrl: string | undefined;
  /** Workspaces besides the installing one whose members may decide (SLACK_ALLOWED_TEAMS). */
  allowedTeams: readonly string[];
  flush: FlushSettings;
}

/** Bolt logs through pino, so its lines carry the same format and redaction as ours. */
function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: 'slack' });
  const text = (parts: unknown[]) =>
    parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    debug: (...msg: unknown[]) => child.debug(text(msg)),
    info: (...msg: unknown[]) => child.info(text(msg)),
    warn: (...msg: unknown[]) => child.warn(text(msg)),
    error: (...msg: unknown[]) => child.error(text(msg)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}

/** Socket Mode or HTTP: how Slack's events reach Bolt. */
function createReceiver(
  deps: Deps,
  settings: SlackSettings,
  logger: BoltLogger,
): { receiver: SocketModeReceiver; link: PlatformLink } | { receiver: ExpressReceiver; link: PlatformLink } {
  if (settings.appToken) {
    const receiver = new SocketModeReceiver({
      appToken: settings.appToken,
      logger,
      // The socket-mode client's own WebClient calls apps.connections.open with the app token.
      installerOptions: { clientOptions: settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {} },
    });
    const link = createPlatformLink('slack', 'socket', deps);
    receiver.client.on('connected', () => {
      link.setConnected(true);
      deps.log.info('Slack Socket Mode connected');
    });
    for (const down of ['close', 'disconnected', 'reconnecting'] as const) {
      receiver.client.on(down, () => link.setConnected(false));
    }
    return { receiver, link };
  }
  if (!settings.signingSecret) throw new Error('Slack over HTTP needs a signing secret');
  const receiver = new ExpressReceiver({
    signingSecret: settings.signingSecret,
    endpoints: SLACK_EVENTS_PATH,
    logger,
    processEventErrorHandler: answerSlackProcessError(deps.log.child({ component: 'slack' })),
  });
  return { receiver, link: createPlatformLink('slack', 'http', deps) };
}

export function createSlackIntegration(deps: Deps, settings: SlackSettings): ChatIntegration {
  const logger = boltLogger(deps.log);
  const { receiver, link } = createReceiver(deps, settings, logger);
  const app = new App({
    token: settings.botToken,
    receiver,
    logger,
    clientOptions: {
      ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
      // Rate limits are handled by the flush loop (it waits out Retry-After per channel); the
      // client's own retry would pause every call for up to half an hour.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 10_000,
    },
  });
  const identity = createIdentityCache(deps.clock, (userId, error) =>
    deps.log.warn({ err: error, userId }, 'Slack users.info failed: the clicker stays unresolved'),
  );
  // The calls the handlers make (the flush loop counts its own): same counter, same rule.
  const countCall = countChatCalls(deps.metrics?.chatApiCalls, 'slack', classifySlackError);
  const handlerDeps = {
    ...deps,
    identity,
    countCall,
    workspaces: createSlackWorkspaces(app.client, countCall, settings.allowedTeams),
  };
  app.use(slackPayloadGuard(deps.log.child({ component: 'slack' })));
  registerSlackHandlers(app, handlerDeps);
  registerReportCommand(app, handlerDeps);
  registerRevocationHandlers(app, { ...handlerDeps, link });
  app.error((error) => {
    // A malformed payload goes on to the receiver, which answers 400 (payload-guard.ts).
    if (isMalformedSlackPayload(error)) return Promise.reject(error);
    // Only reached by failures outside our handlers' own boundary (Bolt's middleware).
    deps.log.error({ err: error }, 'Slack request failed');
    return Promise.resolve();
  });

  const transport = createSlackTransport(app.client);
  const notifier = createSlackNotifier(app.client, countCall);
  const router = express.Router();
  if (receiver instanceof ExpressReceiver) {
    router.use(SLACK_EVENTS_PATH, slackTimestampGuard(deps.clock));
    router.use(receiver.router);
    return { platform: 'slack', router, transport, notifier, flush: settings.flush, link };
  }
  // Socket Mode: no request URL. The socket is opened in the background, so a Slack outage does
  // not hold up start-up; the client reconnects by itself and /readyz shows whether it is up.
  let stopping = false;
  return {
    platform: 'slack',
    router,
    transport,
    notifier,
    flush: settings.flush,
    link,
    start() {
      void app.start().then(
        () => (stopping ? app.stop() : undefined),
        (error: unknown) =>
          deps.log.error({ err: error }, 'Slack Socket Mode could not connect: no Slack events arrive'),
      );
    },
    async stop() {
      stopping = true; // a connection still being set up is closed once it opens
      await app.stop();
    },
  };
}
