// A SCIM write in one transaction. A name the check before the write found free but another
// writer took meanwhile (Postgres refusing the duplicate key) answers the same 409 as the check.
import type { Database } from '../db/client.ts';
import { inTransaction, isUniqueViolation, type Transaction } from '../db/transaction.ts';
import type { ScimError } from './scim-error.ts';

export interface UniqueName {
  /** The unique index that refuses a second holder. */
  constraint: string;
  /** The name the write sets, read when it fails; undefined when it sets none. */
  name: () => string | undefined;
  /** The 409 for a name already held. */
  taken: (name: string) => ScimError;
}

export async function writeUnique<T>(
  db: Database,
  unique: UniqueName,
  work: (tx: Transaction) => Promise<T>,
): Promise<T> {
  try {
    return await inTransaction(db, work);
  } catch (error) {
    const name = unique.name();
    if (name !== undefined && isUniqueViolation(error, unique.constraint)) throw unique.taken(name);
    throw error;
  }
}
