// The Slack integration: a Bolt app on POST /slack/events (events, interactivity and slash
// commands on one URL), signature verification always on, plus the card flusher that posts and
// updates cards through the Web API at SLACK_API_URL.
import { App, ExpressReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import express, { type Router } from 'express';
import type { Deps } from '../../deps.ts';
import type { ChannelFlusher } from '../start-chat-workers.ts';
import type { Logger } from '../../observability/logger.ts';
import { flushSlackChannel } from './flush-slack-channel.ts';
import { registerSlackHandlers } from './handlers.ts';
import { createSlackIdentityResolver } from './identity.ts';
import { registerReportCommand } from './report-command.ts';
import { slackTimestampGuard } from './timestamp-guard.ts';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackSettings {
  botToken: string;
  signingSecret: string;
  apiUrl: string | undefined;
  postIntervalMs: number;
  flushBudgetMs: number;
}

export interface SlackIntegration {
  router: Router;
  /** Posts and updates the pending cards of one `slack:<channel id>` channel, within the budget. */
  flush: ChannelFlusher;
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

export function createSlackIntegration(deps: Deps, settings: SlackSettings): SlackIntegration {
  const logger = boltLogger(deps.log);
  const receiver = new ExpressReceiver({
    signingSecret: settings.signingSecret,
    endpoints: SLACK_EVENTS_PATH,
    logger,
  });
  const app = new App({
    token: settings.botToken,
    receiver,
    logger,
    clientOptions: {
      ...(settings.apiUrl ? { slackApiUrl: settings.apiUrl } : {}),
      // Rate limits are handled by the flusher (it waits out Retry-After per channel); the
      // client's own retry would pause every call for up to half an hour.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: 10_000,
    },
  });
  const handlerDeps = { ...deps, identity: createSlackIdentityResolver(app.client, deps.clock) };
  registerSlackHandlers(app, handlerDeps);
  registerReportCommand(app, handlerDeps);

  const router = express.Router();
  router.use(SLACK_EVENTS_PATH, slackTimestampGuard(deps.clock));
  router.use(receiver.router);
  return {
    router,
    flush: (channel) =>
      flushSlackChannel(
        {
          ...deps,
          client: app.client,
          postIntervalMs: settings.postIntervalMs,
          budgetMs: settings.flushBudgetMs,
        },
        channel,
      ),
  };
}
