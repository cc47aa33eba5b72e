// The policy's versions as the database keeps them: the one in force is the highest. Version 1 is
// the file adopted at the first start; every later one is an approved proposal.
import { runSql, type TransactionDb } from '../../db/transaction.ts';

/** The action of the approval request a proposed change is decided as (propose-policy.ts). */
export const POLICY_CHANGE_ACTION = 'policy.change';

/** Every replica LISTENs here; the payload is the new version's number. */
export const POLICY_CHANNEL = 'countersign_policy';

export interface PolicyVersionRow {
  version: number;
  text: string;
  digest: string;
  source: string;
  diff: string;
  adoptedBy: string;
  proposalId: string | null;
  createdAt: Date;
}

const COLUMNS = `version, text, digest, source, diff, adopted_by AS "adoptedBy",
                 proposal_id::text AS "proposalId", created_at AS "createdAt"`;

export async function readActiveVersion(tx: TransactionDb): Promise<PolicyVersionRow | null> {
  const [row] = await runSql<PolicyVersionRow>(
    tx,
    `SELECT ${COLUMNS} FROM policy_versions ORDER BY version DESC LIMIT 1`,
  );
  return row ?? null;
}

export async function readVersion(tx: TransactionDb, version: number): Promise<PolicyVersionRow | null> {
  const [row] = await runSql<PolicyVersionRow>(
    tx,
    `SELECT ${COLUMNS} FROM policy_versions WHERE version = $1`,
    [version],
  );
  return row ?? null;
}

/** Every version, oldest first. */
export function listVersions(tx: TransactionDb): Promise<PolicyVersionRow[]> {
  return runSql<PolicyVersionRow>(tx, `SELECT ${COLUMNS} FROM policy_versions ORDER BY version`);
}

/** Inserts a version unless it exists (two replicas adopting at once); true when this one did. */
export async function insertVersion(
  tx: TransactionDb,
  row: Omit<PolicyVersionRow, 'createdAt'>,
  now: Date,
): Promise<boolean> {
  const inserted = await runSql<{ version: number }>(
    tx,
    `INSERT INTO policy_versions (version, text, digest, source, diff, adopted_by, proposal_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::uuid, $8)
     ON CONFLICT (version) DO NOTHING RETURNING version`,
    [row.version, row.text, row.digest, row.source, row.diff, row.adoptedBy, row.proposalId, now],
  );
  return inserted.length > 0;
}

/** Serialises every change of the version in force (adoption, approval) across replicas. */
export async function lockPolicyVersions(tx: TransactionDb): Promise<void> {
  await runSql(tx, `SELECT pg_advisory_xact_lock(hashtext('countersign_policy_versions'))::text AS locked`);
}

/** Sent at commit: every replica's listener then loads the new version. */
export async function notifyPolicyChanged(tx: TransactionDb, version: number): Promise<void> {
  await runSql(tx, `SELECT pg_notify($1, $2)::text AS notified`, [POLICY_CHANNEL, String(version)]);
}
