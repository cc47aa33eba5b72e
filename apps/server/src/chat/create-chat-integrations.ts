// The chat platforms this server runs, built once from the configuration: each platform whose
// credentials are set gives one entry (router, card transport, flush settings).
import type { Config } from '../config.ts';
import type { Deps } from '../deps.ts';
import type { ChatPlatform } from '../approvals/channels.ts';
import { flushSettingsFor, type ChatIntegration } from './chat-integration.ts';
import { createIdentityCache } from './identity-cache.ts';
import { createPlatformLink } from './platform-link.ts';
import { createTeamsHandlers } from './teams/handlers.ts';
import { findRefreshAudience } from './teams/refresh-audience.ts';
import { resolveTeamsSettings } from './teams/resolve-teams-settings.ts';
import { createTeamsChatTransport } from './teams/teams-chat-transport.ts';

function commaList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The platforms whose credentials are configured. */
export function configuredChatPlatforms(config: Config): ChatPlatform[] {
  const platforms: ChatPlatform[] = [];
  if (config.SLACK_BOT_TOKEN && (config.SLACK_SIGNING_SECRET || config.SLACK_APP_TOKEN))
    platforms.push('slack');
  if (config.MICROSOFT_APP_ID && config.MICROSOFT_APP_PASSWORD) platforms.push('teams');
  return platforms;
}

/**
 * Bolt and botbuilder are loaded only for a configured platform: together they were ~50 MB of
 * resident memory and a few seconds of every start, Slack-less and Teams-less ones included.
 */
export async function createChatIntegrations(config: Config, deps: Deps): Promise<ChatIntegration[]> {
  const integrations: ChatIntegration[] = [];
  if (config.SLACK_BOT_TOKEN && (config.SLACK_SIGNING_SECRET || config.SLACK_APP_TOKEN)) {
    deps.log.info(
      {
        apiUrl: config.SLACK_API_URL ?? 'https://slack.com/api/',
        mode: config.SLACK_APP_TOKEN ? 'socket' : 'http',
      },
      'Slack enabled',
    );
    if (config.SLACK_APP_TOKEN && config.SLACK_SIGNING_SECRET)
      deps.log.info('SLACK_SIGNING_SECRET is not used in Socket Mode (nothing is signed there)');
    const { createSlackIntegration } = await import('./slack/slack-app.ts');
    integrations.push(
      createSlackIntegration(deps, {
        botToken: config.SLACK_BOT_TOKEN,
        signingSecret: config.SLACK_SIGNING_SECRET,
        appToken: config.SLACK_APP_TOKEN,
        apiUrl: config.SLACK_API_URL,
        allowedTeams: commaList(config.SLACK_ALLOWED_TEAMS),
        flush: flushSettingsFor(config, 'slack'),
      }),
    );
  }
  const teams = resolveTeamsSettings(config);
  if (teams) {
    deps.log.info(
      { cloud: teams.cloud, appType: teams.appType, loginUrl: teams.loginUrl },
      'Microsoft Teams enabled',
    );
    const chatDeps = {
      ...deps,
      identity: createIdentityCache(deps.clock, (userId, error) =>
        deps.log.warn({ err: error, userId }, 'Teams member lookup failed: the clicker stays unresolved'),
      ),
    };
    const { createTeamsIntegration } = await import('./teams/create-teams-integration.ts');
    const integration = createTeamsIntegration(
      deps,
      teams,
      createTeamsHandlers(chatDeps, { tenantId: teams.tenantId, publicUrl: config.COUNTERSIGN_PUBLIC_URL }),
    );
    integrations.push({
      platform: 'teams',
      router: integration.router,
      transport: createTeamsChatTransport(integration.transport, (requestId) =>
        findRefreshAudience(deps, requestId),
      ),
      notifier: integration.notifier,
      flush: flushSettingsFor(config, 'teams'),
      link: createPlatformLink('teams', 'http', deps),
    });
  }
  return integrations;
}
