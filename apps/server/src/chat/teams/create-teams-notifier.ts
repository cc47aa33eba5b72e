// Reminders and the requester's notice on Teams. People are named by the Teams user ids the bot
// has learnt (teams-user-directory): Teams finds nobody by email. A direct message goes to the
// personal chat the person opened with the bot (its stored conversation reference); a thread reply
// goes under the card (in a channel, the conversation id with ";messageid=<card>") with an <at>
// mention per person.
import { MessageFactory, type ConversationReference, type TurnContext } from 'botbuilder';
import type { Database } from '../../db/client.ts';
import type { Logger } from '../../observability/logger.ts';
import type { CountChatCall } from '../count-chat-call.ts';
import type { ChatNotifier } from '../follow-up/chat-notifier.ts';
import { TeamsConversationUnavailableError } from './classify-teams-error.ts';
import type { TeamsAdapter } from './create-teams-adapter.ts';
import { dropConnectorRetries } from './drop-connector-retries.ts';
import { findTeamsConversation } from './find-teams-conversation.ts';
import { findTeamsUserIds } from './teams-user-directory.ts';

export interface TeamsNotifierDeps {
  db: Pick<Database, 'prisma'>;
  teams: Pick<TeamsAdapter, 'adapter' | 'appId'>;
  log: Logger;
  countCall: CountChatCall;
}

/** Teams' answer when the person blocked or removed the bot's personal chat. */
function isBlocked(error: unknown): boolean {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return status === 403 || status === 404;
}

export function createTeamsNotifier({ db, teams, log, countCall }: TeamsNotifierDeps): ChatNotifier {
  async function send(
    reference: Partial<ConversationReference>,
    activity: ReturnType<typeof MessageFactory.text>,
  ): Promise<void> {
    await teams.adapter.continueConversationAsync(teams.appId, reference, async (context: TurnContext) => {
      dropConnectorRetries(context, log);
      // A continuation would reply to its own synthetic activity; this is a new message.
      context.onSendActivities(async (_context, activities, next) => {
        for (const a of activities) delete a.replyToId;
        return next();
      });
      await countCall('sendToConversation', () => context.sendActivity(activity));
    });
  }

  return {
    platform: 'teams',
    async replyInThread(channelId, messageId, reply) {
      const row = await findTeamsConversation(db, channelId);
      if (!row) throw new TeamsConversationUnavailableError(channelId, 'not_installed');
      if (row.removedAt) throw new TeamsConversationUnavailableError(channelId, 'removed');
      const ids = await findTeamsUserIds(db, reply.mention);
      const mentioned = reply.mention.filter((email) => ids.has(email));
      const unresolved = reply.mention.filter((email) => !ids.has(email));
      const tags = mentioned.map((email) => `<at>${email}</at>`);
      const activity = MessageFactory.text([...tags, reply.text].join(' '));
      activity.entities = mentioned.map((email) => ({
        type: 'mention',
        text: `<at>${email}</at>`,
        mentioned: { id: ids.get(email) ?? '', name: email },
      }));
      const stored = row.reference as Partial<ConversationReference>;
      // Channels have threads: the card's message id names one. Chats have none: post in the chat.
      const conversation = stored.conversation
        ? row.conversationType === 'channel'
          ? { ...stored.conversation, id: `${row.conversationId};messageid=${messageId}` }
          : stored.conversation
        : undefined;
      await send({ ...stored, ...(conversation ? { conversation } : {}) }, activity);
      return { mentioned, unresolved };
    },
    async directMessage(email, text) {
      const ids = await findTeamsUserIds(db, [email]);
      const userId = ids.get(email);
      if (!userId) return 'unreachable';
      const personal = await db.prisma.teamsConversation.findFirst({
        where: {
          conversationType: 'personal',
          removedAt: null,
          reference: { path: ['user', 'id'], equals: userId },
        },
        orderBy: { installedAt: 'desc' },
      });
      if (!personal) return 'unreachable';
      try {
        await send(personal.reference as Partial<ConversationReference>, MessageFactory.text(text));
      } catch (error) {
        if (!isBlocked(error)) throw error;
        log.info({ userId, err: error }, 'the personal chat with this Teams user is closed');
        return 'unreachable';
      }
      return 'sent';
    },
  };
}
