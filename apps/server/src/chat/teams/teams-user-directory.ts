// Which Teams user id belongs to which corporate email: learnt whenever the bot resolves a sender
// (a click, a message) through Teams' member lookup, newest sighting wins. Card refresh
// (`refresh.userIds`) needs these ids; Teams offers no lookup by email.
import type { Database } from '../../db/client.ts';
import { upsertTeamsUser } from './teams-store.ts';

export interface SeenTeamsUser {
  /** Lower-cased email (or UPN) as resolveTeamsIdentity gives it. */
  email: string;
  /** Teams user id, "29:…". */
  userId: string;
  aadObjectId: string | null;
  tenantId: string | null;
}

export async function recordTeamsUser(
  db: Pick<Database, 'prisma'>,
  user: SeenTeamsUser,
  now: Date,
): Promise<void> {
  await upsertTeamsUser(db, user, now);
}

/** The Teams user id of each email the bot has seen; emails it has not seen are absent. */
export async function findTeamsUserIds(
  db: Pick<Database, 'prisma'>,
  emails: readonly string[],
): Promise<Map<string, string>> {
  if (emails.length === 0) return new Map();
  const rows = await db.prisma.teamsUser.findMany({
    where: { email: { in: [...emails] } },
    select: { email: true, userId: true },
  });
  return new Map(rows.map((r) => [r.email, r.userId]));
}
