// Slack's `app_uninstalled` and `tokens_revoked` events: when they concern the workspace our bot
// token belongs to, the Slack link is revoked, so the flush loop stops calling a dead token and
// `/readyz` says so. Both arrive over HTTP or Socket Mode alike (Bolt acks events itself).
import type { App } from '@slack/bolt';
import { WebAPIPlatformError } from '@slack/web-api';
import { z } from 'zod';
import type { Logger } from '../../observability/logger.ts';
import type { PlatformLink } from '../platform-link.ts';
import { REVOKED_TOKEN_ERRORS } from './slack-transport.ts';
import type { SlackWorkspaces } from './workspace.ts';

export interface RevocationDeps {
  log: Logger;
  workspaces: SlackWorkspaces;
  link: PlatformLink;
}

const envelopeSchema = z.object({
  team_id: z.string().optional(),
  enterprise_id: z.string().nullish(),
});

const tokensRevokedSchema = z.object({
  tokens: z.object({ oauth: z.array(z.string()).optional(), bot: z.array(z.string()).optional() }),
});

/** Whether the event is about our installation; a token that no longer answers auth.test is ours. */
async function concernsOurInstallation(deps: RevocationDeps, body: unknown): Promise<boolean> {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return false;
  try {
    return await deps.workspaces.isInstallation(
      envelope.data.team_id,
      envelope.data.enterprise_id ?? undefined,
    );
  } catch (error) {
    if (error instanceof WebAPIPlatformError && REVOKED_TOKEN_ERRORS.has(error.data.error)) return true;
    throw error;
  }
}

export function registerRevocationHandlers(app: App, deps: RevocationDeps): void {
  app.event('app_uninstalled', async ({ body }) => {
    const teamId = envelopeSchema.safeParse(body).data?.team_id;
    if (!(await concernsOurInstallation(deps, body))) {
      deps.log.info({ teamId }, 'Slack app_uninstalled for another workspace: ignored');
      return;
    }
    // link.revoke logs it at warn, once.
    deps.log.info({ teamId }, 'Slack app_uninstalled: the app was removed from the workspace');
    deps.link.revoke('app_uninstalled');
  });

  app.event('tokens_revoked', async ({ body, event }) => {
    const teamId = envelopeSchema.safeParse(body).data?.team_id;
    const tokens = tokensRevokedSchema.safeParse(event).data?.tokens;
    // Only the bot token posts cards; revoked user tokens (oauth) are none of ours.
    if (!tokens?.bot?.length) {
      deps.log.info({ teamId }, 'Slack tokens_revoked without a bot token: nothing to stop');
      return;
    }
    if (!(await concernsOurInstallation(deps, body))) {
      deps.log.info({ teamId }, 'Slack tokens_revoked for another workspace: ignored');
      return;
    }
    deps.log.info({ teamId, botUsers: tokens.bot }, 'Slack tokens_revoked: the bot token no longer works');
    deps.link.revoke('tokens_revoked');
  });
}
