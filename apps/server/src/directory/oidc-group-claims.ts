// The groups an OIDC sign-in's `groups` claim carried, kept per person with the time they were
// seen. They count for `idp:` approver entries only for people SCIM does not know: when SCIM
// provisions a person, SCIM's memberships alone count (directory-eligibility.ts).
import type { Transaction } from '../db/transaction.ts';
import { upsertOidcGroupClaim } from './eligibility-store.ts';

/** Replaces what the last sign-in's claim said (an empty claim: member of nothing). */
export async function recordOidcGroups(
  tx: Transaction,
  email: string,
  groups: readonly string[],
  seenAt: Date,
): Promise<void> {
  await upsertOidcGroupClaim(tx, email, groups, seenAt);
}
