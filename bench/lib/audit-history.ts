// One seeded approval history (1 M audit events; 100k with --quick) shared by the verify and report
// benchmarks of a run: seeding takes minutes, so it is done once, on the first request, and the
// database is dropped when the run's process is about to exit.
import pg from 'pg';
import { createBenchDatabase, type BenchDatabase } from '../bench-database.ts';
import { seedApprovalHistory, type SeedResult } from '../seed-approval-history.ts';

export const FULL_EVENTS = 1_000_000;
export const QUICK_EVENTS = 100_000;

export interface AuditHistory extends SeedResult {
  url: string;
  /** Requested size: FULL_EVENTS, or QUICK_EVENTS with --quick. */
  target: number;
}

let seeded: Promise<AuditHistory> | undefined;
let database: BenchDatabase | undefined;

/** The shared history; the first caller seeds it (a later caller with another size is refused). */
export function auditHistory(quick: boolean): Promise<AuditHistory> {
  const target = quick ? QUICK_EVENTS : FULL_EVENTS;
  seeded ??= seed(target);
  return seeded.then((history) => {
    if (history.target !== target) throw new Error('the audit history was seeded at another size');
    return history;
  });
}

async function seed(target: number): Promise<AuditHistory> {
  database = await createBenchDatabase();
  process.once('beforeExit', () => void database?.drop().catch(() => undefined));
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  try {
    const result = await seedApprovalHistory(pool, { firstRequest: 0, targetEvents: target });
    // The seeded events carry no event-key signatures: a history from before signing began, as
    // the event_signatures migration records for an existing chain.
    await pool.query(
      'UPDATE audit_signing_start SET seq = (SELECT seq + 1 FROM audit_chain_head WHERE id = 1) WHERE id = 1',
    );
    console.log(
      `   seeded ${result.events.toLocaleString('en-US')} audit events (${result.requests.toLocaleString('en-US')} requests) in ${result.seconds.toFixed(0)} s`,
    );
    return { ...result, url: database.url, target };
  } finally {
    await pool.end();
  }
}
