// Checks that the request tables tell the same story as the (already verified) chain: every
// request has its request.created event, a decided request has exactly its one verdict event and
// a pending one none, and the stored decisions are exactly the decision.recorded events. A row
// flipped to approved with an inserted decision, written past the service, is named here.
import {
  findDecisionDifference,
  findFieldMismatchRow,
  findOrphanedRequest,
  findStatusMismatch,
  readLastSeqOfRequest,
  type RequestScope,
} from './request-check-store.ts';
import type { ReadSnapshot } from '../db/read-snapshot.ts';

export type { RequestScope } from './request-check-store.ts';

export interface RequestMismatch {
  requestId: string;
  /** The request's last event in the chain, or where its events would have to be. */
  seq: string;
  detail: string;
  /** With a field mismatch: the fields of the row that differ from its request.created event. */
  fields?: string[];
}

/**
 * The first request (oldest first) whose rows disagree with the chain, or null. With `scope`, only
 * the requests created in it (and the events of those requests) are compared.
 */
export async function findRequestMismatch(
  client: ReadSnapshot,
  chainEnd: string,
  scope?: RequestScope,
): Promise<RequestMismatch | null> {
  const nextSeq = String(BigInt(chainEnd) + 1n);
  const status = await findStatusMismatch(client, scope);
  if (status) {
    const seq = status.last_seq ?? nextSeq;
    if (status.created_seq === null) {
      return {
        requestId: status.id,
        seq,
        detail: `request ${status.id} (${status.status}) has no request.created event in the chain: it was written to the database directly`,
      };
    }
    const chain = status.verdicts?.join(', ') ?? 'no verdict event';
    return {
      requestId: status.id,
      seq,
      detail: `request ${status.id}: its status is ${status.status} in approval_requests but the chain has ${chain} for it: its row was changed outside the service`,
    };
  }
  const fields = await findFieldMismatch(client, scope);
  if (fields) return fields;
  const orphan = await findOrphanedRequest(client, scope);
  if (orphan) {
    return {
      requestId: orphan.id,
      seq: orphan.last_seq,
      detail: `request ${orphan.id} is in the chain but its row is gone from approval_requests`,
    };
  }
  const decision = await findDecisionDifference(client, scope);
  if (decision) {
    return {
      requestId: decision.id,
      seq: (await readLastSeqOfRequest(client, decision.id)) ?? nextSeq,
      detail:
        decision.side === 'stored'
          ? `request ${decision.id}: its decisions include a stored ${decision.verdict} by ${decision.email} that no decision.recorded event in the chain records: it was inserted outside the service`
          : `request ${decision.id}: its decisions are missing the ${decision.verdict} by ${decision.email} that the chain records: its decision row was removed or changed`,
    };
  }
  return null;
}

/**
 * The first request whose fields a reviewer or executor relies on differ from its request.created
 * event; null when none does. A field the event does not carry (written before it was added) is
 * not compared. Status and decisions are checked against their own events above.
 */
async function findFieldMismatch(
  client: ReadSnapshot,
  scope: RequestScope | undefined,
): Promise<RequestMismatch | null> {
  const row = await findFieldMismatchRow(client, scope);
  if (!row) return null;
  const verb = row.fields.length === 1 ? 'differs' : 'differ';
  return {
    requestId: row.id,
    seq: row.last_seq,
    detail: `request ${row.id}: its ${row.fields.join(', ')} in approval_requests ${verb} from its request.created event (seq ${row.seq}): the row was changed outside the service`,
    fields: row.fields,
  };
}
