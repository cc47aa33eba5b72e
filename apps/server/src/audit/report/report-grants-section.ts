// The report's grants section: every time-bound grant opened, used or revoked in the period, with
// its uses in the period, and the three counts.
import { refOf, type ReportGrantRef } from './report-grants.ts';
import type { ReportPeriod } from './report-period.ts';
import type { ReportFilters } from './report-rows-store.ts';
import { grantsOfPeriod } from './report-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

/** One grant of the period's section. */
export interface ReportGrant extends ReportGrantRef {
  action: string;
  requester: string;
  agent: string | null;
  policyRule: string;
  /** Requests it approved in the period. */
  usesInPeriod: number;
  revokedAt: string | null;
  revokedBy: string | null;
}

export interface ReportGrantsSection {
  /** Grants opened in the period. */
  issued: number;
  /** Requests approved by a grant in the period. */
  uses: number;
  /** Grants revoked in the period. */
  revoked: number;
  /** Every grant opened, used or revoked in the period, oldest first. */
  grants: ReportGrant[];
}

/**
 * The grants opened, used or revoked in the period whose opening request matches the filters (a
 * grant covers its opening request's action and requester), with their uses in the period.
 */
export async function grantsSection(
  db: ReadSnapshot,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<ReportGrantsSection> {
  const rows = await grantsOfPeriod(db, period, filters);
  const inPeriod = (at: Date | null) =>
    at !== null && at.getTime() >= period.from.getTime() && at.getTime() < period.to.getTime();
  const grants = rows.map((row): ReportGrant => ({
    ...refOf(row),
    action: row.action,
    requester: row.requester_email,
    agent: row.agent_name,
    policyRule: row.policy_rule,
    usesInPeriod: Number(row.uses),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    revokedBy: row.revoked_by,
  }));
  return {
    issued: rows.filter((row) => inPeriod(row.created_at)).length,
    uses: grants.reduce((sum, g) => sum + g.usesInPeriod, 0),
    revoked: rows.filter((row) => inPeriod(row.revoked_at)).length,
    grants,
  };
}
