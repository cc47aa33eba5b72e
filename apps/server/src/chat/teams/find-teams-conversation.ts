// Looks up where the bot is installed, by any form of the conversation id.
import type { Database } from '../../db/client.ts';
import type { TeamsConversation } from '../../generated/prisma/client.ts';
import { teamsConversationKey } from '../../approvals/channels.ts';

export type { TeamsConversation };

/** The stored conversation (removed ones included: check `removedAt`), or null if never installed. */
export function findTeamsConversation(
  db: Pick<Database, 'prisma'>,
  conversationId: string,
): Promise<TeamsConversation | null> {
  return db.prisma.teamsConversation.findUnique({
    where: { conversationId: teamsConversationKey(conversationId) },
  });
}

/** Whether cards can be posted to this conversation now (installed and not removed). */
export async function isTeamsConversationActive(
  db: Pick<Database, 'prisma'>,
  conversationId: string,
): Promise<boolean> {
  const row = await findTeamsConversation(db, conversationId);
  return row !== null && row.removedAt === null;
}
