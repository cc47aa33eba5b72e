// The Teams bot's own tables: teams_conversations (where the bot is installed), teams_users (Teams
// user ids by email) and teams_file_offers (files waiting for the user's consent).
import type { Database, Prisma } from '../../db/client.ts';
import type { Transaction } from '../../db/transaction.ts';

/** Stores a file offered to `userId` in `conversationId`; answers the offer's id. */
export async function insertFileOffer(
  db: Pick<Database, 'prisma'>,
  offer: { conversationId: string; userId: string; name: string; content: Buffer },
): Promise<string> {
  const row = await db.prisma.teamsFileOffer.create({
    data: {
      conversationId: offer.conversationId,
      userId: offer.userId,
      name: offer.name,
      content: new Uint8Array(offer.content),
    },
    select: { id: true },
  });
  return row.id;
}

/** Forgets file offer `id` (nothing when it is gone already). */
export async function deleteFileOffer(db: Pick<Database, 'prisma'>, id: string): Promise<void> {
  await db.prisma.teamsFileOffer.deleteMany({ where: { id } });
}

/** Keeps `userId` (and its Entra object and tenant) as the Teams user of `email`, seen at `seenAt`. */
export async function upsertTeamsUser(
  db: Pick<Database, 'prisma'>,
  user: { email: string; userId: string; aadObjectId: string | null; tenantId: string | null },
  seenAt: Date,
): Promise<void> {
  const data = { userId: user.userId, aadObjectId: user.aadObjectId, tenantId: user.tenantId, seenAt };
  await db.prisma.teamsUser.upsert({
    where: { email: user.email },
    create: { email: user.email, ...data },
    update: data,
  });
}

/** Per-conversation lock for the transaction, so concurrent announcements of one install audit it once. */
export async function lockTeamsConversation(tx: Transaction, conversationId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`teams-conversation:${conversationId}`]);
}

/** What the bot keeps of a conversation besides its id and install times. */
export interface TeamsConversationFields {
  reference: Prisma.InputJsonObject;
  tenantId: string | null;
  teamId: string | null;
  conversationType: string | null;
  name: string | null;
}

export interface StoredTeamsConversation extends TeamsConversationFields {
  removedAt: Date | null;
}

/** The stored conversation, if the bot was ever installed there. */
export async function findTeamsConversation(
  tx: Transaction,
  conversationId: string,
): Promise<StoredTeamsConversation | undefined> {
  const [row] = await tx.query<StoredTeamsConversation>(
    `SELECT reference, tenant_id AS "tenantId", team_id AS "teamId", conversation_type AS "conversationType",
            name, removed_at AS "removedAt"
       FROM teams_conversations WHERE conversation_id = $1`,
    [conversationId],
  );
  return row;
}

/**
 * Inserts the conversation installed at `installedAt`, or updates its fields; with `reinstall`
 * an existing row also takes `installedAt` and loses its removal.
 */
export async function upsertTeamsConversation(
  tx: Transaction,
  conversationId: string,
  fields: TeamsConversationFields,
  installedAt: Date,
  reinstall: boolean,
): Promise<void> {
  await tx.query(
    `INSERT INTO teams_conversations
            (conversation_id, reference, tenant_id, team_id, conversation_type, name, installed_at)
     VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7)
     ON CONFLICT (conversation_id) DO UPDATE SET
            reference = EXCLUDED.reference, tenant_id = EXCLUDED.tenant_id, team_id = EXCLUDED.team_id,
            conversation_type = EXCLUDED.conversation_type, name = EXCLUDED.name
            ${reinstall ? ', installed_at = EXCLUDED.installed_at, removed_at = NULL' : ''}`,
    [
      conversationId,
      JSON.stringify(fields.reference),
      fields.tenantId,
      fields.teamId,
      fields.conversationType,
      fields.name,
      installedAt,
    ],
  );
}

/** Marks the conversation removed at `removedAt`. */
export async function markTeamsConversationRemoved(
  tx: Transaction,
  conversationId: string,
  removedAt: Date,
): Promise<void> {
  await tx.query('UPDATE teams_conversations SET removed_at = $2 WHERE conversation_id = $1', [
    conversationId,
    removedAt,
  ]);
}
