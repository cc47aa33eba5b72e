// The groups an OIDC sign-in's `groups` claim carried, kept per person with the time they were
// seen. They count for `idp:` approver entries only for people SCIM does not know: when SCIM
// provisions a person, SCIM's memberships alone count (directory-eligibility.ts).
import type { TransactionDb } from '../db/transaction.ts';
import { runSql } from '../db/transaction.ts';

/** Replaces what the last sign-in's claim said (an empty claim: member of nothing). */
export async function recordOidcGroups(
  tx: TransactionDb,
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
