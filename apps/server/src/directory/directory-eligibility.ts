// What the identity provider's directory says about a decider, read in the deciding transaction so
// every replica sees a deprovisioning at once: whether the person was deactivated or removed, and
// which `idp:<group>` approver entry (if any) makes them eligible.
import type { SqlSource } from '../db/transaction.ts';
import {
  findIdpMembership,
  listIdpGroupMembers,
  readDirectoryPresence,
  type DirectoryPresence,
} from './eligibility-store.ts';

export const IDP_PREFIX = 'idp:';

/** The directory presence of `email` as a caller read it (readDirectoryPresence's answer). */
export interface PresenceRead {
  email: string;
  presence: DirectoryPresence | undefined;
}

export function idpGroupsOf(approvers: readonly string[]): string[] {
  return approvers.filter((a) => a.startsWith(IDP_PREFIX)).map((a) => a.slice(IDP_PREFIX.length));
}

/**
 * True when the directory knows this address and none of its entries is an active, present
 * person: deactivated (`active: false`) or removed by the identity provider. `read` is a
 * presence already read in the caller's transaction (the deciding transaction reads it with the
 * row lock); unless it is this address's, it is read here.
 */
export async function isDeprovisioned(tx: SqlSource, email: string, read?: PresenceRead): Promise<boolean> {
  const row = read?.email === email ? read.presence : await readDirectoryPresence(tx, email);
  return Boolean(row?.known) && !row?.present;
}

/** Where an `idp:` membership was read: a SCIM group, or the `groups` claim of an OIDC sign-in. */
export type IdpMembershipSource = 'scim' | 'oidc';

/** The `idp:` group that makes a person eligible and where that membership was read. */
export interface IdpMembership {
  group: string;
  source: IdpMembershipSource;
}

/** The first `idp:` group of `approvers` the person is an active member of, or null (see idpMembershipHeld). */
export async function idpGroupHeld(
  tx: SqlSource,
  approvers: readonly string[],
  email: string,
): Promise<string | null> {
  return (await idpMembershipHeld(tx, approvers, email))?.group ?? null;
}

/**
 * The first `idp:` group of `approvers` the person is an active member of, or null. SCIM wins: a
 * person SCIM provisions counts by SCIM's memberships only; for anyone else, the `groups` claim of
 * their last OIDC console sign-in (oidc-group-claims.ts) counts.
 */
export async function idpMembershipHeld(
  tx: SqlSource,
  approvers: readonly string[],
  email: string,
): Promise<IdpMembership | null> {
  const groups = idpGroupsOf(approvers);
  if (groups.length === 0) return null;
  const keys = groups.map((g) => g.toLowerCase());
  const row = await findIdpMembership(tx, keys, email);
  return row ? { group: row.display_name, source: row.source } : null;
}

/**
 * The people `idp:` entries of `approvers` name today: active members by SCIM, and for anyone SCIM
 * does not know, the `groups` claim of their last OIDC sign-in (the same sources idpGroupHeld reads).
 */
export async function idpGroupMembers(tx: SqlSource, approvers: readonly string[]): Promise<string[]> {
  const keys = idpGroupsOf(approvers).map((g) => g.toLowerCase());
  if (keys.length === 0) return [];
  return listIdpGroupMembers(tx, keys);
}
