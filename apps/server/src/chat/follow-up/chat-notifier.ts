// What a chat platform offers the follow-ups besides cards: a reply in a card's thread that
// mentions people by their corporate email, and a direct message to one person. Platform-neutral;
// the Slack and Teams adapters implement it.
import type { ChatPlatform } from '../../approvals/channels.ts';

export interface ThreadReply {
  /** The text after the mentions. */
  text: string;
  /** Corporate emails (lower-cased) of the people to mention. */
  mention: readonly string[];
}

export interface ChatNotifier {
  platform: ChatPlatform;
  /**
   * Posts a reply under the card `messageId` of `channelId`. People the platform cannot find by
   * email are left out of the mentions and answered as unresolved; any other failure is thrown.
   */
  replyInThread(
    channelId: string,
    messageId: string,
    reply: ThreadReply,
  ): Promise<{ mentioned: string[]; unresolved: string[] }>;
  /**
   * A direct message to the person with this email: `unreachable` when the platform knows no way
   * to reach them (no such user, no personal conversation); any other failure is thrown.
   */
  directMessage(email: string, text: string): Promise<'sent' | 'unreachable'>;
}
