// The Slack integration: a Bolt app on POST /slack/events (events, interactivity and slash
// commands on one URL), signature verification always on, plus the card transport that posts and
// updates cards through the Web API at SLACK_API_URL.
import { App, ExpressReceiver, LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import express from 'express';
import type { Deps } from '../../deps.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ChatIntegration } from '../chat-integration.ts';
import type { FlushSettings } from '../flush-channel.ts';
import { createIdentityCache } from '../identity-cache.ts';
import { registerSlackHandlers } from './handlers.ts';
import { registerReportCommand } from './report-command.ts';
import { createSlackTransport } from './slack-transport.ts';
import { slackTimestampGuard } from './timestamp-guard.ts';
import { createSlackWorkspaces } from './workspace.ts';

export const SLACK_EVENTS_PATH = '/slack/events';

export interface SlackSettings {
  botToken: string;
  signingSecret: string;
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

export function createSlackIntegration(deps: Deps, settings: SlackSettings): ChatIntegration {
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
  const handlerDeps = {
    ...deps,
    identity,
    workspaces: createSlackWorkspaces(app.client, settings.allowedTeams),
  };
  registerSlackHandlers(app, handlerDeps);
  registerReportCommand(app, handlerDeps);
  app.error((error) => {
    // Only reached by failures outside our handlers' own boundary (Bolt's middleware).
    deps.log.error({ err: error }, 'Slack request failed');
    return Promise.resolve();
  });

  const router = express.Router();
  router.use(SLACK_EVENTS_PATH, slackTimestampGuard(deps.clock));
  router.use(receiver.router);
  return { platform: 'slack', router, transport: createSlackTransport(app.client), flush: settings.flush };
}
