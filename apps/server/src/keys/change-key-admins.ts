// Sets, adds or removes the people who administer a key's client. The change is audited in its
// transaction as `key.admins.changed` with the list before and after; a change that leaves the
// list as it was records nothing.
import { appendAuditEvent } from '../audit/append-event.ts';
import type { Database } from '../db/client.ts';
import { inTransaction } from '../db/transaction.ts';
import { isUuid } from '../approvals/find-request.ts';
import { AppError } from '../errors.ts';
import { normaliseAdminEmails } from './key-admins.ts';
import { findKeyOwner, lockClientAdmins, setClientAdmins } from './key-store.ts';

export type KeyAdminsChange = { set: string[] } | { add: string[] } | { remove: string[] };

export interface ChangeKeyAdminsInput {
  keyId: string;
  change: KeyAdminsChange;
  /** Who changes them, for the audit log: `cli:<os user>`; `system` when unsaid. */
  actor?: string;
  now?: Date;
}

export interface ChangedKeyAdmins {
  keyId: string;
  clientId: string;
  admins: string[];
  /** False when the list was already so; nothing was recorded. */
  changed: boolean;
}

function apply(current: string[], change: KeyAdminsChange): string[] {
  if ('set' in change) return normaliseAdminEmails(change.set);
  if ('add' in change) return [...new Set([...current, ...normaliseAdminEmails(change.add)])];
  const removed = new Set(normaliseAdminEmails(change.remove));
  return current.filter((email) => !removed.has(email));
}

export async function changeKeyAdmins(db: Database, input: ChangeKeyAdminsInput): Promise<ChangedKeyAdmins> {
  const notFound = new AppError('NOT_FOUND', { detail: `no API key with id ${input.keyId}` });
  if (!isUuid(input.keyId)) throw notFound;
  // Checked before the transaction so a bad email changes nothing and says which.
  apply([], input.change);
  const now = input.now ?? new Date();
  return inTransaction(db, async (tx) => {
    const key = await findKeyOwner(tx, input.keyId);
    if (!key) throw notFound;
    // The client row is locked so two changes at once each see the other's list.
    const before = await lockClientAdmins(tx, key.clientId);
    const admins = apply(before, input.change);
    const changed = admins.length !== before.length || admins.some((email, i) => email !== before[i]);
    if (changed) {
      await setClientAdmins(tx, key.clientId, admins);
      await appendAuditEvent(
        tx,
        {
          type: 'key.admins.changed',
          actor: input.actor ?? 'system',
          payload: { keyId: input.keyId, clientId: key.clientId, prefix: key.prefix, before, admins },
        },
        now,
      );
    }
    return { keyId: input.keyId, clientId: key.clientId, admins, changed };
  });
}
