// Time-bound grants behind a report's rows: the grant that made a decision (who approved it, for
// how long), read per batch of rows. The period's grants section is report-grants-section.ts.
import { grantsWithIds, type GrantRecord } from './report-store.ts';
import type { ReadSnapshot } from '../../db/read-snapshot.ts';

export type { GrantRecord } from './report-store.ts';

/** A decision's actor when a grant made it: `grant:<id>` (approvals/grants.ts grantActor). */
const GRANT_ACTOR = /^grant:([0-9a-f-]{36})$/;

/** The grant that approved a request, as its decision row shows it. */
export interface ReportGrantRef {
  id: string;
  /** The request whose approval opened the grant. */
  openedBy: string;
  /** Who approved that request with a window. */
  approvedBy: string[];
  minutes: number;
  from: string;
  until: string;
}

/** The grant id in a decision's approver (`grant:<id>`), or null for a person or a policy. */
export function grantIdOf(approverEmail: string, platform: string): string | null {
  if (platform !== 'grant') return null;
  return GRANT_ACTOR.exec(approverEmail)?.[1] ?? null;
}

export function refOf(row: GrantRecord): ReportGrantRef {
  return {
    id: row.id,
    openedBy: row.request_id,
    approvedBy: row.approvers ?? [],
    minutes: row.minutes,
    from: row.created_at.toISOString(),
    until: row.expires_at.toISOString(),
  };
}

/** The grants with these ids, by id (one query per batch of rows). */
export async function grantsById(db: ReadSnapshot, ids: string[]): Promise<Map<string, ReportGrantRef>> {
  if (ids.length === 0) return new Map();
  const rows = await grantsWithIds(db, ids);
  return new Map(rows.map((row) => [row.id, refOf(row)]));
}

/** One line for a grant: "grant <id> (approved by bob@example.com for 15 min, <from> to <until>)". */
export function grantText(grant: ReportGrantRef): string {
  const by = grant.approvedBy.length > 0 ? grant.approvedBy.join(', ') : 'nobody recorded';
  return `grant ${grant.id} (approved by ${by} for ${grant.minutes} min on request ${grant.openedBy}, ${grant.from} to ${grant.until})`;
}
