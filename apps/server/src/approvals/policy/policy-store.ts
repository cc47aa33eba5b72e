// The policy's tables: its versions (the one in force is the highest), the lock and NOTIFY that
// go with a change of the version in force, and the proposals decided as `policy.change` requests.
import type { Database } from '../../db/client.ts';
import { runSql, type Transaction, type SqlSource } from '../../db/transaction.ts';

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

/** The version in force (the highest), or null when none is stored. */
export async function readActiveVersion(tx: SqlSource): Promise<PolicyVersionRow | null> {
  const [row] = await runSql<PolicyVersionRow>(
    tx,
    `SELECT ${COLUMNS} FROM policy_versions ORDER BY version DESC LIMIT 1`,
  );
  return row ?? null;
}

/** One stored version, or null. */
export async function readVersion(tx: SqlSource, version: number): Promise<PolicyVersionRow | null> {
  const [row] = await runSql<PolicyVersionRow>(
    tx,
    `SELECT ${COLUMNS} FROM policy_versions WHERE version = $1`,
    [version],
  );
  return row ?? null;
}

/** Every version, oldest first. */
export function listVersions(tx: SqlSource): Promise<PolicyVersionRow[]> {
  return runSql<PolicyVersionRow>(tx, `SELECT ${COLUMNS} FROM policy_versions ORDER BY version`);
}

/** Inserts a version unless it exists (two replicas adopting at once); true when this one did. */
export async function insertVersion(
  tx: SqlSource,
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
export async function lockPolicyVersions(tx: Transaction): Promise<void> {
  await runSql(tx, `SELECT pg_advisory_xact_lock(hashtext('countersign_policy_versions'))::text AS locked`);
}

/** Sent at commit: every replica's listener then loads the new version. */
export async function notifyPolicyChanged(tx: Transaction, version: number): Promise<void> {
  await runSql(tx, `SELECT pg_notify($1, $2)::text AS notified`, [POLICY_CHANNEL, String(version)]);
}

/** A stored proposal, as its approval applies it. */
export interface ProposalRow {
  id: string;
  baseVersion: number;
  text: string;
  digest: string;
  diff: string;
  proposer: string;
}

/** The proposal a `policy.change` request decides, or undefined. */
export async function readProposalOfRequest(
  tx: Transaction,
  requestId: string,
): Promise<ProposalRow | undefined> {
  const [proposal] = await tx.query<ProposalRow>(
    `SELECT id::text AS id, base_version AS "baseVersion", text, digest, diff, proposer
       FROM policy_proposals WHERE request_id = $1::uuid`,
    [requestId],
  );
  return proposal;
}

/** Stores a proposal beside its `policy.change` request. */
export async function insertProposal(
  tx: Transaction,
  proposal: ProposalRow & { requestId: string },
  now: Date,
): Promise<void> {
  await tx.query(
    `INSERT INTO policy_proposals (id, request_id, base_version, text, digest, diff, proposer, created_at)
     VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8)`,
    [
      proposal.id,
      proposal.requestId,
      proposal.baseVersion,
      proposal.text,
      proposal.digest,
      proposal.diff,
      proposal.proposer,
      now,
    ],
  );
}

/** A version with who proposed it and who approved it, for reading. */
export interface VersionHistoryRow {
  version: number;
  digest: string;
  source: string;
  createdAt: Date;
  proposalId: string | null;
  proposer: string | null;
  approvers: string[];
  adoptedBy: string;
  text?: string;
  diff?: string;
}

const SELECT_HISTORY = `SELECT v.version, v.digest, v.source, v.created_at AS "createdAt",
                       v.proposal_id::text AS "proposalId", p.proposer, v.adopted_by AS "adoptedBy",
                       ARRAY(SELECT d.approver_email FROM decisions d
                              WHERE d.request_id = p.request_id AND d.verdict = 'approve'
                              ORDER BY d.created_at, d.id) AS approvers`;

/** Up to `limit` versions below `before` (all when null), newest first, without text and diff. */
export async function selectVersionHistory(
  db: Database,
  before: number | null,
  limit: number,
): Promise<VersionHistoryRow[]> {
  const { rows } = await db.pool.query<VersionHistoryRow>(
    `${SELECT_HISTORY}
       FROM policy_versions v LEFT JOIN policy_proposals p ON p.id = v.proposal_id
      WHERE $1::int IS NULL OR v.version < $1::int
      ORDER BY v.version DESC LIMIT $2`,
    [before, limit],
  );
  return rows;
}

/** One version with its text and diff, or undefined. */
export async function selectVersionWithHistory(
  db: Database,
  version: number,
): Promise<VersionHistoryRow | undefined> {
  const {
    rows: [row],
  } = await db.pool.query<VersionHistoryRow>(
    `${SELECT_HISTORY}, v.text, v.diff
       FROM policy_versions v LEFT JOIN policy_proposals p ON p.id = v.proposal_id
      WHERE v.version = $1`,
    [version],
  );
  return row;
}
