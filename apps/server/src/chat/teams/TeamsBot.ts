// The Teams bot: translates activities into platform-neutral calls and nothing else.
// - Installs and removals (conversationUpdate with the bot in membersAdded/membersRemoved,
//   installationUpdate add/remove) are stored with their conversation reference and audited.
// - `adaptiveCard/action` invokes, messages and file consent answers go to the injected handlers
//   (the chat core) as parsed TeamsCardAction / TeamsMessage / TeamsFileConsentResult.
// An error thrown by a handler propagates: the endpoint answers 500 and logs it with its stack.
import {
  ActivityHandler,
  CardFactory,
  MessageFactory,
  TurnContext,
  type Activity,
  type InvokeResponse,
  type ResourceResponse,
} from 'botbuilder';
import type { Database, Prisma } from '../../db/client.ts';
import type { Clock } from '../../deps.ts';
import type { Logger } from '../../observability/logger.ts';
import type { CountChatCall } from '../count-chat-call.ts';
import { answerWithError } from './answer-invoke.ts';
import { teamsConversationKey } from '../../approvals/channels.ts';
import { answerFileOffer, createFileOffer } from './offer-teams-file.ts';
import {
  recordTeamsInstallation,
  recordTeamsRemoval,
  type TeamsInstallationSource,
} from './record-teams-installation.ts';
import { resolveTeamsIdentity, type TeamsIdentity } from './resolve-teams-identity.ts';
import { recordTeamsUser } from './teams-user-directory.ts';
import {
  cardActionValueSchema,
  channelAccountSchema,
  conversationSchema,
  fileConsentValueSchema,
  teamsChannelDataSchema,
  toTeamsUser,
  type TeamsBotHandlers,
  type TeamsTurnTools,
} from './teams-turn.ts';

export interface TeamsBotDeps {
  db: Pick<Database, 'prisma' | 'pool'>;
  clock: Clock;
  log: Logger;
  /** Counts each connector call the bot makes (countersign_chat_api_calls_total). */
  countCall: CountChatCall;
}

interface Where {
  conversationId: string;
  rawConversationId: string;
  conversationType: string | null;
  tenantId: string | null;
  teamId: string | null;
}

function whereOf(activity: Activity): Where {
  const conversation = conversationSchema.parse(activity.conversation);
  const channelData = teamsChannelDataSchema.parse(activity.channelData);
  return {
    conversationId: teamsConversationKey(conversation.id),
    rawConversationId: conversation.id,
    conversationType: conversation.conversationType ?? null,
    tenantId: conversation.tenantId ?? channelData?.tenant?.id ?? null,
    teamId: channelData?.team?.id ?? null,
  };
}

/** Who did it, for the audit trail: the Entra object id when Teams sends it. */
function actorOf(activity: Activity): string {
  const from = channelAccountSchema.safeParse(activity.from);
  if (!from.success) return 'teams:unknown';
  return `teams:${from.data.aadObjectId ?? from.data.id}`;
}

export class TeamsBot extends ActivityHandler {
  constructor(
    private readonly deps: TeamsBotDeps,
    private readonly teamsHandlers: TeamsBotHandlers,
  ) {
    super();
    this.onMembersAdded(async (context, next) => {
      const botId = context.activity.recipient?.id;
      if (context.activity.membersAdded?.some((m) => m.id === botId)) {
        await this.recordInstall(context, 'conversationUpdate');
      }
      await next();
    });
    this.onMembersRemoved(async (context, next) => {
      const botId = context.activity.recipient?.id;
      if (context.activity.membersRemoved?.some((m) => m.id === botId)) {
        await this.recordRemoval(context, 'conversationUpdate');
      }
      await next();
    });
    this.onInstallationUpdate(async (context, next) => {
      const action = context.activity.action ?? '';
      if (action.startsWith('add')) await this.recordInstall(context, 'installationUpdate');
      else if (action.startsWith('remove')) await this.recordRemoval(context, 'installationUpdate');
      await next();
    });
    this.onMessage(async (context, next) => {
      if (this.teamsHandlers.onMessage) {
        const from = channelAccountSchema.parse(context.activity.from);
        const text = TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '';
        await this.teamsHandlers.onMessage(
          {
            ...whereOf(context.activity),
            text: text.trim(),
            from: toTeamsUser(from),
            activityId: context.activity.id ?? null,
          },
          this.toolsFor(context),
        );
      }
      await next();
    });
  }

  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    switch (context.activity.name) {
      case 'adaptiveCard/action':
        return this.cardAction(context);
      case 'fileConsent/invoke':
        return this.fileConsent(context);
      default:
        return super.onInvokeActivity(context);
    }
  }

  private async cardAction(context: TurnContext): Promise<InvokeResponse> {
    const value = cardActionValueSchema.safeParse(context.activity.value);
    const from = channelAccountSchema.safeParse(context.activity.from);
    if (!value.success || !from.success) {
      return { status: 200, body: answerWithError(400, 'not an Action.Execute from a Teams user') };
    }
    const answer = await this.teamsHandlers.onCardAction(
      {
        ...whereOf(context.activity),
        verb: value.data.action.verb,
        data: value.data.action.data ?? {},
        clicker: toTeamsUser(from.data),
        cardActivityId: context.activity.replyToId ?? null,
        activityId: context.activity.id ?? null,
      },
      this.toolsFor(context),
    );
    return { status: 200, body: answer };
  }

  private async fileConsent(context: TurnContext): Promise<InvokeResponse> {
    const value = fileConsentValueSchema.safeParse(context.activity.value);
    const from = channelAccountSchema.safeParse(context.activity.from);
    if (!value.success || !from.success) return { status: 400 };
    const uploadUrl = value.data.uploadInfo?.uploadUrl;
    const result = await answerFileOffer(this.deps, {
      offerId: value.data.context?.offerId,
      action: value.data.action,
      userId: from.data.id,
      uploadInfo: uploadUrl ? { ...value.data.uploadInfo, uploadUrl } : undefined,
    });
    if (result.outcome === 'uploaded') {
      await this.send(context, { type: 'message', attachments: [result.fileInfo] });
    }
    await this.teamsHandlers.onFileConsent?.(
      {
        ...whereOf(context.activity),
        action: value.data.action,
        outcome: result.outcome,
        fileName: result.fileName,
        from: toTeamsUser(from.data),
      },
      this.toolsFor(context),
    );
    return { status: 200 };
  }

  /** A message within the turn: botbuilder replies to the incoming activity (replyToActivity). */
  private send(context: TurnContext, activity: Partial<Activity>): Promise<ResourceResponse | undefined> {
    const method = context.activity.id ? 'replyToActivity' : 'sendToConversation';
    return this.deps.countCall(method, () => context.sendActivity(activity));
  }

  private toolsFor(context: TurnContext): TeamsTurnTools {
    return {
      reply: async (text) => (await this.send(context, MessageFactory.text(text)))?.id,
      replyWithCard: async (card) =>
        (await this.send(context, MessageFactory.attachment(CardFactory.adaptiveCard(card))))?.id,
      resolveSender: async () => {
        const from = channelAccountSchema.safeParse(context.activity.from);
        if (!from.success) return null;
        const who = await resolveTeamsIdentity(context, from.data.id, this.deps.countCall, this.deps.log);
        if (who) await this.learnUser(from.data.id, who);
        return who;
      },
      offerFile: async (file) => {
        const where = whereOf(context.activity);
        if (where.conversationType !== 'personal') {
          throw new Error('files can only be offered in a personal chat');
        }
        const from = channelAccountSchema.parse(context.activity.from);
        const attachment = await createFileOffer(this.deps.db, {
          conversationId: where.conversationId,
          userId: from.id,
          ...file,
        });
        await this.send(context, { type: 'message', attachments: [attachment] });
      },
    };
  }

  private async learnSender(context: TurnContext): Promise<void> {
    const from = channelAccountSchema.safeParse(context.activity.from);
    if (!from.success) return;
    const who = await resolveTeamsIdentity(context, from.data.id, this.deps.countCall, this.deps.log);
    if (who) await this.learnUser(from.data.id, who);
  }

  /** Keeps the sender's Teams id under their email, for card refresh (refresh.userIds). */
  private async learnUser(userId: string, who: TeamsIdentity): Promise<void> {
    if (!who.email) return;
    try {
      await recordTeamsUser(
        this.deps.db,
        { email: who.email, userId, aadObjectId: who.aadObjectId, tenantId: who.tenantId },
        this.deps.clock.now(),
      );
    } catch (error) {
      // The turn goes on; the person is only left out of refresh.userIds until the next sighting.
      this.deps.log.warn({ err: error, userId }, 'the Teams user id could not be stored');
    }
  }

  private async recordInstall(context: TurnContext, via: TeamsInstallationSource): Promise<void> {
    const activity = context.activity;
    const where = whereOf(activity);
    const conversation = conversationSchema.parse(activity.conversation);
    const channelData = teamsChannelDataSchema.parse(activity.channelData);
    const reference = TurnContext.getConversationReference(activity);
    // Proactive posts go to the channel itself, not into the thread or after the install message.
    delete reference.activityId;
    const stored = {
      ...reference,
      conversation: { ...conversation, id: where.conversationId },
    };
    const change = await recordTeamsInstallation(
      this.deps,
      {
        conversationId: where.conversationId,
        // A JSON round trip drops undefined members, which Prisma's Json input refuses.
        reference: JSON.parse(JSON.stringify(stored)) as Prisma.InputJsonObject,
        tenantId: where.tenantId,
        teamId: where.teamId,
        conversationType: where.conversationType,
        name: conversation.name ?? channelData?.channel?.name ?? channelData?.team?.name ?? null,
      },
      actorOf(activity),
      via,
    );
    this.deps.log.info({ conversationId: where.conversationId, change, via }, 'Teams bot installed');
    // A personal chat: the person who opened it can be told things there later; learn who they are.
    if (where.conversationType === 'personal') await this.learnSender(context);
  }

  private async recordRemoval(context: TurnContext, via: TeamsInstallationSource): Promise<void> {
    const where = whereOf(context.activity);
    const removed = await recordTeamsRemoval(this.deps, where.conversationId, actorOf(context.activity), via);
    this.deps.log.info({ conversationId: where.conversationId, removed, via }, 'Teams bot removed');
  }
}
