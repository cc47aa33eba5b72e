// SCIM Users and Groups as they come in (zod: the core schema's attributes, unknown ones refused)
// and as they go out (RFC 7643 §4). Only what eligibility needs is kept: who (userName, emails),
// whether they are active, and which groups they are in.
import { z } from 'zod';
import type { ZodError } from 'zod';
import { ScimError } from './scim-error.ts';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** SCIM booleans; Entra sends `active` as the strings "True"/"False" unless told otherwise. */
export const scimBoolean = z.union([
  z.boolean(),
  z
    .string()
    .regex(/^(true|false)$/i, 'must be true or false')
    .transform((v) => v.toLowerCase() === 'true'),
]);

const email = z.looseObject({
  value: z.string().min(1).max(320),
  type: z.string().optional(),
  primary: scimBoolean.optional(),
});

const personName = z.looseObject({
  formatted: z.string().optional(),
  familyName: z.string().optional(),
  givenName: z.string().optional(),
});

/** Core User attributes Countersign does not keep: accepted so provisioning works, not stored. */
const ignoredUserAttributes = Object.fromEntries(
  [
    'id',
    'meta',
    'nickName',
    'profileUrl',
    'title',
    'userType',
    'preferredLanguage',
    'locale',
    'timezone',
    'password',
    'phoneNumbers',
    'ims',
    'photos',
    'addresses',
    'groups',
    'entitlements',
    'roles',
    'x509Certificates',
    ENTERPRISE_USER_SCHEMA,
  ].map((name) => [name, z.unknown().optional()]),
);

export const userInSchema = z.strictObject({
  schemas: z.array(z.string()).optional(),
  userName: z.string().min(1).max(320),
  externalId: z.string().max(500).nullish(),
  displayName: z.string().max(500).nullish(),
  name: personName.nullish(),
  emails: z.array(email).max(50).nullish(),
  active: scimBoolean.optional(),
  ...ignoredUserAttributes,
});
export type UserIn = z.infer<typeof userInSchema>;

const memberRef = z.looseObject({ value: z.string().min(1), display: z.string().nullish() });

export const groupInSchema = z.strictObject({
  schemas: z.array(z.string()).optional(),
  id: z.unknown().optional(),
  meta: z.unknown().optional(),
  displayName: z.string().min(1).max(500),
  externalId: z.string().max(500).nullish(),
  members: z.array(memberRef).max(10_000).nullish(),
});
export type GroupIn = z.infer<typeof groupInSchema>;
export type MemberRef = z.infer<typeof memberRef>;

export const patchSchema = z.strictObject({
  schemas: z.array(z.string()).refine((s) => s.includes(PATCH_SCHEMA), `must include ${PATCH_SCHEMA}`),
  Operations: z
    .array(
      z.looseObject({
        op: z
          .string()
          .regex(/^(add|replace|remove)$/i, 'must be add, replace or remove')
          .transform((op) => op.toLowerCase() as 'add' | 'replace' | 'remove'),
        path: z.string().min(1).optional(),
        value: z.unknown().optional(),
      }),
    )
    .min(1)
    .max(1000),
});
export type PatchOperation = z.infer<typeof patchSchema>['Operations'][number];

/** Parses a SCIM body; a shape error is a 400 `invalidSyntax` naming the attribute. */
export function parseScim<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new ScimError(400, describeIssues(parsed.error), 'invalidSyntax');
}

function describeIssues(error: ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.join('.') || 'body';
      return issue.code === 'unrecognized_keys'
        ? `unknown attribute(s) ${issue.keys.join(', ')}`
        : `${where}: ${issue.message}`;
    })
    .join('; ');
}

/** The address eligibility is checked against: the primary email, else the first, else userName. */
export function eligibilityEmail(user: {
  userName: string;
  emails?: { value: string; primary?: boolean | undefined }[] | null | undefined;
}): string | null {
  const emails = user.emails ?? [];
  const chosen = emails.find((e) => e.primary)?.value ?? emails[0]?.value ?? user.userName;
  return chosen.includes('@') ? chosen.toLowerCase() : null;
}

interface Meta {
  id: string;
  createdAt: Date;
  updatedAt: Date;
}

function meta(resourceType: 'User' | 'Group', row: Meta, basePath: string): Record<string, string> {
  return {
    resourceType,
    created: row.createdAt.toISOString(),
    lastModified: row.updatedAt.toISOString(),
    location: `${basePath}/${resourceType}s/${row.id}`,
  };
}

export interface UserRow extends Meta {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  name: unknown;
  emails: unknown;
  email: string | null;
  active: boolean;
  memberships: { group: { id: string; displayName: string } }[];
}

export function userOut(row: UserRow, basePath: string): Record<string, unknown> {
  return {
    schemas: [USER_SCHEMA],
    id: row.id,
    ...(row.externalId ? { externalId: row.externalId } : {}),
    userName: row.userName,
    ...(row.name ? { name: row.name } : {}),
    ...(row.displayName ? { displayName: row.displayName } : {}),
    ...(Array.isArray(row.emails) ? { emails: row.emails } : {}),
    active: row.active,
    groups: row.memberships.map((m) => ({
      value: m.group.id,
      display: m.group.displayName,
      $ref: `${basePath}/Groups/${m.group.id}`,
    })),
    meta: meta('User', row, basePath),
  };
}

export interface GroupRow extends Meta {
  displayName: string;
  externalId: string | null;
  members: { user: { id: string; userName: string } }[];
}

export function groupOut(row: GroupRow, basePath: string, withMembers: boolean): Record<string, unknown> {
  return {
    schemas: [GROUP_SCHEMA],
    id: row.id,
    ...(row.externalId ? { externalId: row.externalId } : {}),
    displayName: row.displayName,
    ...(withMembers
      ? {
          members: row.members.map((m) => ({
            value: m.user.id,
            display: m.user.userName,
            $ref: `${basePath}/Users/${m.user.id}`,
          })),
        }
      : {}),
    meta: meta('Group', row, basePath),
  };
}

/** A SCIM id as Countersign issues it; anything else names no resource. */
export const SCIM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One page of a list: the total matched, and the rows from startIndex. */
export interface Page<T> {
  total: number;
  rows: T[];
}
