// The request page's timeline: its audit events in order, each as one line a reviewer can read.
import type { AuditEvent } from '../generated/prisma/client.ts';

export interface TimelineEntry {
  seq: string;
  at: Date;
  type: string;
  actor: string;
  text: string;
  devSignin: boolean;
}

function field(payload: unknown, key: string): unknown {
  return typeof payload === 'object' && payload !== null
    ? (payload as Record<string, unknown>)[key]
    : undefined;
}

function text(event: AuditEvent): string {
  const p = event.payload;
  switch (event.type) {
    case 'request.created':
      return `created under rule ${String(field(p, 'policyRule'))}, quorum ${String(field(p, 'quorum'))}`;
    case 'decision.recorded': {
      const approver = field(p, 'approver');
      const reason = field(p, 'reason');
      return `${String(field(p, 'verdict'))} via ${String(field(approver, 'platform'))}${typeof reason === 'string' ? `: ${reason}` : ''}`;
    }
    case 'decision.refused': {
      const approver = field(p, 'approver');
      return `refused ${String(field(p, 'verdict'))} via ${String(field(approver, 'platform'))} (${String(field(p, 'reason'))})`;
    }
    case 'request.approved':
    case 'request.denied':
    case 'request.expired':
    case 'request.cancelled':
      return event.type.slice('request.'.length);
    default:
      return event.type;
  }
}

/** `actorNames` shows an actor as a reader knows it (`client:<id>` as `key <name>`); others as stored. */
export function describeTimeline(
  events: AuditEvent[],
  actorNames: ReadonlyMap<string, string> = new Map(),
): TimelineEntry[] {
  return events.map((event) => ({
    seq: event.seq.toString(),
    at: event.occurredAt,
    type: event.type,
    actor: actorNames.get(event.actor) ?? event.actor,
    text: text(event),
    devSignin: field(field(event.payload, 'session'), 'devSignin') === true,
  }));
}
