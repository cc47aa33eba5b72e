// The chat platforms this server runs, built once from the configuration: each platform whose
// credentials are set gives one entry (router, card transport, flush settings).
import type { Config } from '../config.ts';
import type { Deps } from '../deps.ts';
import type { ChatPlatform } from './channels.ts';
import { flushSettingsFor, type ChatIntegration } from './chat-integration.ts';
import { createSlackIntegration } from './slack/slack-app.ts';

function commaList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The platforms whose credentials are configured. */
export function configuredChatPlatforms(config: Config): ChatPlatform[] {
  const platforms: ChatPlatform[] = [];
  if (config.SLACK_BOT_TOKEN && config.SLACK_SIGNING_SECRET) platforms.push('slack');
  if (config.MICROSOFT_APP_ID && config.MICROSOFT_APP_PASSWORD) platforms.push('teams');
  return platforms;
}

export function createChatIntegrations(config: Config, deps: Deps): ChatIntegration[] {
  const integrations: ChatIntegration[] = [];
  if (config.SLACK_BOT_TOKEN && config.SLACK_SIGNING_SECRET) {
    deps.log.info({ apiUrl: config.SLACK_API_URL ?? 'https://slack.com/api/' }, 'Slack enabled');
    integrations.push(
      createSlackIntegration(deps, {
        botToken: config.SLACK_BOT_TOKEN,
        signingSecret: config.SLACK_SIGNING_SECRET,
        apiUrl: config.SLACK_API_URL,
        allowedTeams: commaList(config.SLACK_ALLOWED_TEAMS),
        flush: flushSettingsFor(config, 'slack'),
      }),
    );
  }
  return integrations;
}
