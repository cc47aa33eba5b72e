// Counts verdicts, decisions and refusals from the append-only audit log, reading only the events
// after the last one seen (seq is gapless and increasing), so a scrape costs one indexed query.
import type { PrismaClient } from '../db/client.ts';
import { auditHeadSeq, countVerdictEventsBetween } from './metrics-store.ts';

export interface AuditEventCounts {
  verdicts: Record<string, number>;
  decisions: Record<string, number>;
  refusals: Record<string, number>;
}

export interface AuditEventTally {
  read(): Promise<AuditEventCounts>;
}

const VERDICT_EVENTS: Record<string, string> = {
  'request.approved': 'approved',
  'request.denied': 'denied',
  'request.expired': 'expired',
  'request.cancelled': 'cancelled',
};

export function createAuditEventTally(db: PrismaClient): AuditEventTally {
  const counts: AuditEventCounts = { verdicts: {}, decisions: {}, refusals: {} };
  let lastSeq = 0n;
  let inFlight: Promise<AuditEventCounts> | undefined;
  const add = (bucket: Record<string, number>, key: string, n: number) => {
    bucket[key] = (bucket[key] ?? 0) + n;
  };

  async function catchUp(): Promise<AuditEventCounts> {
    // Appends are serialised by the chain lock up to their commit, so every event at or below the
    // head read here is visible, and none above it is counted twice next time.
    const upTo = (await auditHeadSeq(db)) ?? 0n;
    if (upTo <= lastSeq) return counts;
    const rows = await countVerdictEventsBetween(db, lastSeq, upTo);
    for (const row of rows) {
      const n = Number(row.count);
      const verdict = VERDICT_EVENTS[row.type];
      if (verdict) add(counts.verdicts, verdict, n);
      else if (row.type === 'decision.recorded' && row.detail) add(counts.decisions, row.detail, n);
      else if (row.type === 'decision.refused' && row.detail) add(counts.refusals, row.detail, n);
    }
    lastSeq = upTo;
    return counts;
  }

  return {
    // Several counters read at one scrape: one query serves them all.
    read() {
      inFlight ??= catchUp().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  };
}
