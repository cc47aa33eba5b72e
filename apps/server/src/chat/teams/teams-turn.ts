// Platform-neutral inputs the Teams bot hands to the chat core, parsed with zod from the activity.
// Nothing here exposes botbuilder types: the chat core never imports botbuilder.
import { z } from 'zod';
import type { InvokeAnswer } from './answer-invoke.ts';
import type { TeamsIdentity } from './resolve-teams-identity.ts';

/** The person behind an activity, as Teams names them (no email here: see resolveClicker). */
export interface TeamsUser {
  /** Teams user id ("29:…"), what getMember and mentions take. */
  id: string;
  /** Entra ID object id; stable across tenants' views of the user. */
  aadObjectId: string | null;
  name: string | null;
}

interface TeamsWhere {
  /** Conversation id without ";messageid=…" (the key of stored references and cards). */
  conversationId: string;
  /** As received, suffix included. */
  rawConversationId: string;
  /** "channel", "groupChat" or "personal". */
  conversationType: string | null;
  tenantId: string | null;
  teamId: string | null;
}

/** A click on an Action.Execute button of a card the bot posted. */
export interface TeamsCardAction extends TeamsWhere {
  verb: string;
  /** The action's `data` merged with the card's inputs (what Teams sends). */
  data: Record<string, unknown>;
  clicker: TeamsUser;
  /** The id of the message that holds the card (the invoke's replyToId). */
  cardActivityId: string | null;
  /** The invoke activity's own id. */
  activityId: string | null;
}

/** A message to the bot (the bot's @mention removed from the text). */
export interface TeamsMessage extends TeamsWhere {
  text: string;
  from: TeamsUser;
  activityId: string | null;
}

/** The outcome of a file consent answer, after the bot has uploaded (or not). */
export interface TeamsFileConsentResult extends TeamsWhere {
  action: 'accept' | 'decline';
  outcome: 'uploaded' | 'declined' | 'unknown_offer' | 'upload_failed';
  fileName: string | null;
  from: TeamsUser;
}

export interface TeamsFileToOffer {
  name: string;
  content: Buffer;
  description?: string;
}

/** What a handler may do within the turn it was called for. */
export interface TeamsTurnTools {
  /** Sends a text message into the conversation; resolves with the new activity id. */
  reply(text: string): Promise<string | undefined>;
  /** Sends an Adaptive Card into the conversation; resolves with the new activity id. */
  replyWithCard(card: Record<string, unknown>): Promise<string | undefined>;
  /** Resolves the sender of this activity to an email (fail closed: null on any error). */
  resolveSender(): Promise<TeamsIdentity | null>;
  /** Sends a FileConsentCard for `file` (personal chats only); the upload follows the user's answer. */
  offerFile(file: TeamsFileToOffer): Promise<void>;
}

export interface TeamsBotHandlers {
  onCardAction(action: TeamsCardAction, turn: TeamsTurnTools): Promise<InvokeAnswer>;
  onMessage?(message: TeamsMessage, turn: TeamsTurnTools): Promise<void>;
  onFileConsent?(result: TeamsFileConsentResult, turn: TeamsTurnTools): Promise<void>;
}

export const channelAccountSchema = z.looseObject({
  id: z.string().min(1),
  aadObjectId: z.string().optional(),
  name: z.string().optional(),
});

export const conversationSchema = z.looseObject({
  id: z.string().min(1),
  conversationType: z.string().optional(),
  tenantId: z.string().optional(),
  name: z.string().optional(),
});

export const teamsChannelDataSchema = z
  .looseObject({
    team: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).optional(),
    tenant: z.looseObject({ id: z.string().optional() }).optional(),
    channel: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).optional(),
  })
  .optional()
  .catch(undefined);

export const cardActionValueSchema = z.looseObject({
  action: z.looseObject({
    type: z.literal('Action.Execute'),
    verb: z.string().min(1),
    data: z.record(z.string(), z.unknown()).optional().catch(undefined),
  }),
});

export const fileConsentValueSchema = z.looseObject({
  action: z.enum(['accept', 'decline']),
  context: z.looseObject({ offerId: z.string().optional() }).optional().catch(undefined),
  uploadInfo: z
    .looseObject({
      name: z.string().optional(),
      uploadUrl: z.url().optional(),
      contentUrl: z.string().optional(),
      uniqueId: z.string().optional(),
      fileType: z.string().optional(),
    })
    .optional(),
});

export function toTeamsUser(account: z.infer<typeof channelAccountSchema>): TeamsUser {
  return { id: account.id, aadObjectId: account.aadObjectId ?? null, name: account.name ?? null };
}
