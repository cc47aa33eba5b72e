// The audit events an evidence pack lists beside the report: the policy history, the directory's
// changes and the administrators' actions, each read from the chain (the events are what the
// chain vouches for, not the tables they changed).
import type { Database } from '../../db/client.ts';
import { ADMIN_EVENT_TYPES } from '../event-types.ts';
import type { ReportPeriod } from '../report/report-period.ts';
import { DIRECTORY_EVENT_TYPES } from '../report/report-summary.ts';
import {
  eventsOfTypesBetween,
  lastPolicyLoadBefore,
  policyLoadsBetween,
  type EvidenceEventRecord,
} from './evidence-store.ts';

/** The report's administrative events, and the SCIM tokens and checkpoints made. */
export const ADMIN_ACTION_TYPES = [...ADMIN_EVENT_TYPES, 'scim.token.created', 'audit.checkpoint'] as const;

export interface EvidenceEvent {
  seq: string;
  type: string;
  actor: string;
  at: string;
  hash: string;
  payload: unknown;
}

function toEvent(row: EvidenceEventRecord): EvidenceEvent {
  return {
    seq: row.seq,
    type: row.type,
    actor: row.actor,
    at: row.at.toISOString(),
    hash: row.hash,
    payload: row.payload,
  };
}

export interface EvidenceEvents {
  /** The policy in force when the period began (the last policy.loaded before it), then each load in it. */
  policyHistory: { inForceAtStart: EvidenceEvent | null; loaded: EvidenceEvent[] };
  directoryChanges: EvidenceEvent[];
  adminActions: EvidenceEvent[];
}

export async function collectEvidenceEvents(db: Database, period: ReportPeriod): Promise<EvidenceEvents> {
  const before = await lastPolicyLoadBefore(db, period.from);
  return {
    policyHistory: {
      inForceAtStart: before ? toEvent(before) : null,
      loaded: (await policyLoadsBetween(db, period.from, period.to)).map(toEvent),
    },
    directoryChanges: (await eventsOfTypesBetween(db, period.from, period.to, DIRECTORY_EVENT_TYPES)).map(
      toEvent,
    ),
    adminActions: (await eventsOfTypesBetween(db, period.from, period.to, ADMIN_ACTION_TYPES)).map(toEvent),
  };
}
