// Posts and updates cards proactively, for the card outbox: the stored conversation reference
// (any replica may post) → adapter.continueConversationAsync → the Bot Framework connector.
// Each call is one attempt (the connector's own retries are dropped); failures are thrown as
// they come and classifyTeamsError says whether to wait, retry or give up.
import { CardFactory, MessageFactory, type ConversationReference, type TurnContext } from 'botbuilder';
import type { Database } from '../../db/client.ts';
import type { Logger } from '../../observability/logger.ts';
import { TeamsConversationUnavailableError } from './classify-teams-error.ts';
import type { TeamsAdapter } from './create-teams-adapter.ts';
import { dropConnectorRetries } from './drop-connector-retries.ts';
import { findTeamsConversation } from './find-teams-conversation.ts';

export interface TeamsCardTransport {
  /** Posts a new message with the Adaptive Card; resolves with its activity id. */
  postCard(conversationId: string, card: Record<string, unknown>): Promise<string>;
  /** Replaces the card in the message `activityId` (everyone's view). */
  updateCard(conversationId: string, activityId: string, card: Record<string, unknown>): Promise<void>;
}

export interface TeamsCardTransportDeps {
  db: Pick<Database, 'prisma'>;
  teams: Pick<TeamsAdapter, 'adapter' | 'appId'>;
  log: Logger;
}

export function createTeamsCardTransport({ db, teams, log }: TeamsCardTransportDeps): TeamsCardTransport {
  async function referenceFor(conversationId: string): Promise<Partial<ConversationReference>> {
    const row = await findTeamsConversation(db, conversationId);
    if (!row) throw new TeamsConversationUnavailableError(conversationId, 'not_installed');
    if (row.removedAt) throw new TeamsConversationUnavailableError(conversationId, 'removed');
    // Stored by TeamsBot from TurnContext.getConversationReference: botbuilder's own shape.
    return row.reference as Partial<ConversationReference>;
  }

  function cardMessage(card: Record<string, unknown>) {
    return MessageFactory.attachment(CardFactory.adaptiveCard(card));
  }

  return {
    async postCard(conversationId, card) {
      const reference = await referenceFor(conversationId);
      let activityId: string | undefined;
      await teams.adapter.continueConversationAsync(teams.appId, reference, async (context: TurnContext) => {
        dropConnectorRetries(context, log);
        // A continuation would send a reply to its own synthetic activity; a card is a new message.
        context.onSendActivities(async (_context, activities, next) => {
          for (const activity of activities) delete activity.replyToId;
          return next();
        });
        activityId = (await context.sendActivity(cardMessage(card)))?.id;
      });
      if (!activityId) throw new Error(`Teams returned no activity id for the card in ${conversationId}`);
      log.debug({ conversationId, activityId }, 'Teams card posted');
      return activityId;
    },
    async updateCard(conversationId, activityId, card) {
      const reference = await referenceFor(conversationId);
      await teams.adapter.continueConversationAsync(teams.appId, reference, async (context: TurnContext) => {
        dropConnectorRetries(context, log);
        await context.updateActivity({ ...cardMessage(card), id: activityId });
      });
      log.debug({ conversationId, activityId }, 'Teams card updated');
    },
  };
}
