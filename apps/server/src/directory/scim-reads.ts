// The directory as SCIM reads it outside any write: pages of Users and Groups and one of each,
// plain Prisma reads (the writes and the reads inside them are in scim-user-store and
// scim-group-store).
import type { Database, Prisma } from '../db/client.ts';
import { scimNotFound } from './scim-error.ts';
import type { Equality } from './scim-filter.ts';
import { SCIM_ID, type GroupRow, type Page, type UserRow } from './scim-resources.ts';

const WITH_GROUPS = { memberships: { include: { group: { select: { id: true, displayName: true } } } } };

export const USER_FILTERS = ['userName', 'externalId', 'id', 'emails.value', 'emails[type eq "work"].value'];

function userWhere(filters: readonly Equality[]): Prisma.DirectoryUserWhereInput {
  const where: Prisma.DirectoryUserWhereInput = { removedAt: null };
  const and: Prisma.DirectoryUserWhereInput[] = [];
  for (const { attribute, value } of filters) {
    if (attribute === 'userName') and.push({ userNameKey: value.toLowerCase() });
    else if (attribute === 'externalId') and.push({ externalId: value });
    else if (attribute === 'id') and.push(SCIM_ID.test(value) ? { id: value } : { id: { in: [] } });
    else and.push({ email: value.toLowerCase() });
  }
  return and.length > 0 ? { ...where, AND: and } : where;
}

/** One page of the people provisioned (not removed), oldest first, with their groups. */
export async function listUsers(
  db: Database,
  filters: readonly Equality[],
  startIndex: number,
  count: number,
): Promise<Page<UserRow>> {
  const where = userWhere(filters);
  const [total, rows] = await Promise.all([
    db.prisma.directoryUser.count({ where }),
    db.prisma.directoryUser.findMany({
      where,
      include: WITH_GROUPS,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      skip: startIndex - 1,
      take: count,
    }),
  ]);
  return { total, rows };
}

/** A provisioned person with their groups; a 404 for an unknown or removed one. */
export async function getUser(db: Database, id: string): Promise<UserRow> {
  const row = SCIM_ID.test(id)
    ? await db.prisma.directoryUser.findFirst({ where: { id, removedAt: null }, include: WITH_GROUPS })
    : null;
  if (!row) throw scimNotFound('User', id);
  return row;
}

const WITH_MEMBERS = {
  members: {
    include: { user: { select: { id: true, userName: true } } },
    where: { user: { removedAt: null } },
  },
} as const;

export const GROUP_FILTERS = ['displayName', 'externalId', 'id'];

function groupWhere(filters: readonly Equality[]): Prisma.DirectoryGroupWhereInput {
  const and: Prisma.DirectoryGroupWhereInput[] = filters.map(({ attribute, value }) =>
    attribute === 'displayName'
      ? { displayNameKey: value.toLowerCase() }
      : attribute === 'externalId'
        ? { externalId: value }
        : SCIM_ID.test(value)
          ? { id: value }
          : { id: { in: [] } },
  );
  return and.length > 0 ? { AND: and } : {};
}

/** One page of the groups, oldest first, with their (not removed) members. */
export async function listGroups(
  db: Database,
  filters: readonly Equality[],
  startIndex: number,
  count: number,
): Promise<Page<GroupRow>> {
  const where = groupWhere(filters);
  const [total, rows] = await Promise.all([
    db.prisma.directoryGroup.count({ where }),
    db.prisma.directoryGroup.findMany({
      where,
      include: WITH_MEMBERS,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      skip: startIndex - 1,
      take: count,
    }),
  ]);
  return { total, rows };
}

/** A group with its (not removed) members; a 404 for an unknown one. */
export async function getGroup(db: Database, id: string): Promise<GroupRow> {
  const row = SCIM_ID.test(id)
    ? await db.prisma.directoryGroup.findUnique({ where: { id }, include: WITH_MEMBERS })
    : null;
  if (!row) throw scimNotFound('Group', id);
  return row;
}
