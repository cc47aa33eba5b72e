// The directory reads that decide eligibility (directory_users, directory_groups, directory_members)
// and the oidc_group_claims table the console's OIDC sign-ins keep.
import { runSql, type SqlSource } from '../db/transaction.ts';

/** Replaces `email`'s stored OIDC `groups` claim (with its lower-cased keys) and when it was seen. */
export async function upsertOidcGroupClaim(
  tx: SqlSource,
  email: string,
  groups: readonly string[],
  seenAt: Date,
): Promise<void> {
  await runSql(
    tx,
    `INSERT INTO oidc_group_claims (email, groups, group_keys, seen_at) VALUES ($1, $2::text[], $3::text[], $4)
     ON CONFLICT (email) DO UPDATE SET groups = EXCLUDED.groups, group_keys = EXCLUDED.group_keys, seen_at = EXCLUDED.seen_at`,
    [email, [...groups], groups.map((g) => g.toLowerCase()), seenAt],
  );
}

export interface DirectoryPresence {
  /** The directory has at least one entry with this email. */
  known: boolean;
  /** One of those entries is active and not removed (null when unknown). */
  present: boolean | null;
}

/**
 * The statement that reads whether the directory knows `email` (SQL: a parameter or a literal) and
 * whether any of its entries is active and present; it answers one row, a DirectoryPresence.
 */
export function directoryPresenceSql(email: string): string {
  return `SELECT count(*) > 0 AS known, bool_or(active AND removed_at IS NULL) AS present
       FROM directory_users WHERE email = ${email}`;
}

/** Whether the directory knows `email` and whether any of its entries is active and present. */
export async function readDirectoryPresence(
  tx: SqlSource,
  email: string,
): Promise<DirectoryPresence | undefined> {
  const [row] = await runSql<DirectoryPresence>(tx, directoryPresenceSql('$1'), [email]);
  return row;
}

export interface IdpMembershipRow {
  display_name: string;
  source: 'scim' | 'oidc';
}

/**
 * The first of the groups `keys` (lower-cased) `email` is an active member of: by SCIM, or for a
 * person SCIM does not know, by the last OIDC `groups` claim.
 */
export async function findIdpMembership(
  tx: SqlSource,
  keys: readonly string[],
  email: string,
): Promise<IdpMembershipRow | undefined> {
  const rows = await runSql<IdpMembershipRow>(
    tx,
    `SELECT g.display_name, 'scim' AS source
       FROM directory_members m
       JOIN directory_groups g ON g.id = m.group_id
       JOIN directory_users u ON u.id = m.user_id
      WHERE g.display_name_key = ANY($1::text[]) AND u.email = $2 AND u.active AND u.removed_at IS NULL
     UNION ALL
     SELECT c.groups[array_position(c.group_keys, k.key)], 'oidc' AS source
       FROM oidc_group_claims c
       CROSS JOIN unnest($1::text[]) AS k(key)
      WHERE c.email = $2 AND k.key = ANY(c.group_keys)
        AND NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.email = $2)
      LIMIT 1`,
    [keys, email],
  );
  return rows[0];
}

/** The emails of the active members of the groups `keys` (lower-cased), by SCIM or else by OIDC claim. */
export async function listIdpGroupMembers(tx: SqlSource, keys: readonly string[]): Promise<string[]> {
  const rows = await runSql<{ email: string }>(
    tx,
    `SELECT u.email
       FROM directory_members m
       JOIN directory_groups g ON g.id = m.group_id
       JOIN directory_users u ON u.id = m.user_id
      WHERE g.display_name_key = ANY($1::text[]) AND u.active AND u.removed_at IS NULL AND u.email IS NOT NULL
     UNION
     SELECT c.email FROM oidc_group_claims c
      WHERE c.group_keys && $1::text[]
        AND NOT EXISTS (SELECT 1 FROM directory_users u WHERE u.email = c.email)
     ORDER BY 1`,
    [keys],
  );
  return rows.map((row) => row.email);
}
