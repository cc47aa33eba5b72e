// Wires the Teams pieces from settings: adapter, bot (with the chat core's handlers), the
// POST /api/messages router and the card transport. main.ts mounts `router` beside Slack's.
import type { Router } from 'express';
import type { Database } from '../../db/client.ts';
import type { Clock, Deps } from '../../deps.ts';
import type { Logger } from '../../observability/logger.ts';
import { countChatCalls } from '../count-chat-call.ts';
import { classifyTeamsError } from './classify-teams-error.ts';
import { createTeamsAdapter, type TeamsAdapter } from './create-teams-adapter.ts';
import { createTeamsCardTransport, type TeamsCardTransport } from './create-teams-card-transport.ts';
import { createTeamsEndpoint } from './create-teams-endpoint.ts';
import { createTeamsNotifier } from './create-teams-notifier.ts';
import type { ChatNotifier } from '../follow-up/chat-notifier.ts';
import { createEndorsementCheck } from './require-teams-endorsement.ts';
import type { TeamsSettings } from './resolve-teams-settings.ts';
import { TeamsBot } from './TeamsBot.ts';
import type { TeamsBotHandlers } from './teams-turn.ts';

export interface TeamsIntegration {
  router: Router;
  transport: TeamsCardTransport;
  /** Reminders and the requester's notice (thread replies with mentions, personal messages). */
  notifier: ChatNotifier;
  teams: TeamsAdapter;
  bot: TeamsBot;
  settings: TeamsSettings;
}

export function createTeamsIntegration(
  deps: { db: Pick<Database, 'prisma' | 'pool'>; clock: Clock; log: Logger; metrics?: Deps['metrics'] },
  settings: TeamsSettings,
  handlers: TeamsBotHandlers,
): TeamsIntegration {
  const teams = createTeamsAdapter(settings);
  // The bot's own calls (replies, member look-ups); the flush loop counts the card posts.
  const countCall = countChatCalls(deps.metrics?.chatApiCalls, 'teams', classifyTeamsError);
  const bot = new TeamsBot({ db: deps.db, clock: deps.clock, log: deps.log, countCall }, handlers);
  return {
    router: createTeamsEndpoint({
      teams,
      bot,
      requireEndorsement: createEndorsementCheck(settings.openIdMetadataUrl),
      log: deps.log,
    }),
    transport: createTeamsCardTransport({ db: deps.db, teams, log: deps.log }),
    notifier: createTeamsNotifier({ db: deps.db, teams, log: deps.log, countCall }),
    teams,
    bot,
    settings,
  };
}
