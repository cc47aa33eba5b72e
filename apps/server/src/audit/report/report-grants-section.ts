// The report's grants section: every time-bound grant opened, used or revoked in the period, with
// its uses in the period, and the three counts.
import type pg from 'pg';
import { refOf, type GrantRecord, type ReportGrantRef } from './report-grants.ts';
import type { ReportPeriod } from './report-period.ts';
import { filterClause, type ReportFilters } from './report-rows.ts';

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
  db: pg.PoolClient,
  period: ReportPeriod,
  filters: ReportFilters,
): Promise<ReportGrantsSection> {
  const params: unknown[] = [period.from, period.to];
  const { rows } = await db.query<
    GrantRecord & {
      action: string;
      requester_email: string;
      agent_name: string | null;
      policy_rule: string;
      revoked_at: Date | null;
      revoked_by: string | null;
      uses: string;
    }
  >(
    `SELECT g.id::text, g.request_id::text, g.approvers, g.minutes, g.created_at, g.expires_at,
            g.action, g.requester_email, g.agent_name, g.policy_rule, g.revoked_at, g.revoked_by,
            (SELECT count(*) FROM decisions d
              WHERE d.approver_email = 'grant:' || g.id::text AND d.platform = 'grant'
                AND d.created_at >= $1 AND d.created_at < $2)::text AS uses
       FROM grants g JOIN approval_requests r ON r.id = g.request_id
      WHERE ((g.created_at >= $1 AND g.created_at < $2)
             OR (g.revoked_at >= $1 AND g.revoked_at < $2)
             OR EXISTS (SELECT 1 FROM decisions d
                         WHERE d.approver_email = 'grant:' || g.id::text AND d.platform = 'grant'
                           AND d.created_at >= $1 AND d.created_at < $2))${filterClause(filters, params)}
      ORDER BY g.created_at, g.id`,
    params,
  );
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
