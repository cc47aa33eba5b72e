// What the audit chain recorded for one request: its request.created event (everything the
// reviewer saw and every rule the decision is held to), its decisions and its verdict. Receipts,
// executions and decisions go by this record, not by the request row, which a database login can
// rewrite; `requestRowMismatches` names every field in which the row has drifted from it.
import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import type { SqlSource } from '../db/transaction.ts';
import { readRequestChainColumns } from './chain-store.ts';
import { eventKeysFrom, rememberedSignatureProblem, type EventKeys } from './event-key.ts';
import type { RequestCreatedPayload } from './event-types.ts';
import { storedEventInput } from './verify-event-hash.ts';

/** The request.created payload; fields added later are optional so older events still read. */
const createdPayloadSchema = z.looseObject({
  clientId: z.string(),
  action: z.string(),
  requester: z.string(),
  payloadDigest: z.string(),
  expiresAt: z.string(),
  policyRule: z.string(),
  approvers: z.array(z.string()),
  anyApprover: z.boolean(),
  quorum: z.number().int(),
  title: z.string().nullable().optional(),
  reason: z.string().nullable().optional(),
  requesterName: z.string().nullable().optional(),
  requesterProof: z.unknown().optional(),
  agent: z.unknown().optional(),
  context: z.unknown().optional(),
  agentOwner: z.string().nullable().optional(),
  denyQuorum: z.number().int().optional(),
  denyReasonRequired: z.boolean().optional(),
  channels: z.array(z.string()).optional(),
  followUp: z
    .object({
      remindSeconds: z.array(z.number().int()),
      escalate: z
        .object({
          afterSeconds: z.number().int(),
          approvers: z.array(z.string()),
          channel: z.string().nullable(),
        })
        .nullable(),
      notifyRequester: z.boolean(),
    })
    .optional(),
  breakGlass: z
    .object({ reason: z.string(), reviewers: z.array(z.string()), reviewDueAt: z.string() })
    .optional(),
}) satisfies z.ZodType<RequestCreatedPayload>;

const decisionPayloadSchema = z.looseObject({
  approver: z.looseObject({ email: z.string().nullable(), platform: z.string() }),
  verdict: z.enum(['approve', 'deny']),
  reason: z.string().nullable(),
});

export const VERDICT_EVENT_TYPES = [
  'request.approved',
  'request.denied',
  'request.expired',
  'request.cancelled',
] as const;
export type VerdictEventType = (typeof VERDICT_EVENT_TYPES)[number];

export interface ChainEventRef {
  seq: string;
  hash: string;
  /** occurred_at as an ISO string. */
  at: string;
}

export interface ChainDecision extends ChainEventRef {
  approver: string;
  platform: string;
  verdict: 'approve' | 'deny';
  reason: string | null;
}

export interface ChainVerdict extends ChainEventRef {
  type: VerdictEventType;
  status: 'approved' | 'denied' | 'expired' | 'cancelled';
}

export interface ChainEscalation extends ChainEventRef {
  /** Approvers the escalation added to those the request was created with. */
  approvers: string[];
}

export interface RequestChain {
  created: ChainEventRef & { payload: RequestCreatedPayload };
  decisions: ChainDecision[];
  verdicts: ChainVerdict[];
  escalations: ChainEscalation[];
}

const escalationPayloadSchema = z.looseObject({ approvers: z.array(z.string()) });

export type RequestChainResult = { found: true; chain: RequestChain } | { found: false; reason: string };

export interface EventRow {
  seq: string;
  hash: string;
  type: string;
  actor: string;
  payload: unknown;
  at: Date;
  signature: string | null;
}

// The SQL of the chain columns is the chain store's; other reads embed it in statements of theirs.

const chainEventRowSchema = z.object({
  seq: z.string(),
  hash: z.string(),
  type: z.string(),
  actor: z.string(),
  payload: z.unknown(),
  at: z.union([z.date(), z.string().transform((text) => new Date(text))]),
  signature: z.string().nullable(),
});

const chainColumnsSchema = z.object({
  chain_events: z.array(chainEventRowSchema),
  event_keys: z.array(z.unknown()),
  signed_from: z.string().nullable(),
});

/** The request's chain from the columns `requestChainColumnsSql` selected. */
export function requestChainFromColumns(requestId: string, row: unknown): RequestChainResult {
  const columns = chainColumnsSchema.safeParse(row);
  if (!columns.success)
    return { found: false, reason: `the audit chain of request ${requestId} cannot be read` };
  const { chain_events: events, event_keys: keyRows, signed_from: signedFrom } = columns.data;
  const keys = eventKeysFrom(keyRows, signedFrom === null ? undefined : { seq: signedFrom });
  return requestChainFrom(
    requestId,
    events.map((event) => ({ ...event, payload: event.payload })),
    keys,
  );
}

/**
 * Reads the request's events that state what it is and what was decided, with the keys that sign
 * them, in one statement. Not found when it has no request.created event, more than one, or one
 * that cannot be read: then nothing is vouched for.
 */
export async function readRequestChain(tx: SqlSource, requestId: string): Promise<RequestChainResult> {
  const row = await readRequestChainColumns(tx, requestId, VERDICT_EVENT_TYPES);
  return requestChainFromColumns(requestId, row);
}

/** The request's chain from its events (in seq order) and the event keys, read by the caller. */
export function requestChainFrom(requestId: string, rows: EventRow[], keys: EventKeys): RequestChainResult {
  // Every event read here changes the request's state: each must be the server's own.
  for (const row of rows) {
    if (BigInt(row.seq) < keys.signedFrom) continue;
    const input = storedEventInput({
      type: row.type,
      requestId,
      actor: row.actor,
      payload: row.payload,
      occurredAt: row.at.toISOString(),
    });
    const why = rememberedSignatureProblem(keys, input, row.signature);
    if (why)
      return {
        found: false,
        reason: `the ${row.type} event of request ${requestId} at seq ${row.seq} is not the server's (${why}): it was appended past the service`,
      };
  }
  const ref = (row: EventRow): ChainEventRef => ({ seq: row.seq, hash: row.hash, at: row.at.toISOString() });
  const created = rows.filter((row) => row.type === 'request.created');
  const first = created[0];
  if (!first)
    return { found: false, reason: `request ${requestId} has no request.created event in the audit chain` };
  if (created.length > 1)
    return {
      found: false,
      reason: `request ${requestId} has ${created.length} request.created events in the audit chain`,
    };
  const payload = createdPayloadSchema.safeParse(first.payload);
  if (!payload.success)
    return {
      found: false,
      reason: `the request.created event of request ${requestId} (seq ${first.seq}) cannot be read`,
    };
  const decisions: ChainDecision[] = [];
  const verdicts: ChainVerdict[] = [];
  const escalations: ChainEscalation[] = [];
  for (const row of rows) {
    if (row.type === 'request.escalated') {
      const escalation = escalationPayloadSchema.safeParse(row.payload);
      if (!escalation.success)
        return { found: false, reason: `the request.escalated event at seq ${row.seq} cannot be read` };
      escalations.push({ ...ref(row), approvers: escalation.data.approvers });
      continue;
    }
    if (row.type === 'decision.recorded') {
      const decision = decisionPayloadSchema.safeParse(row.payload);
      if (!decision.success || decision.data.approver.email === null)
        return { found: false, reason: `the decision.recorded event at seq ${row.seq} cannot be read` };
      decisions.push({
        ...ref(row),
        approver: decision.data.approver.email,
        platform: decision.data.approver.platform,
        verdict: decision.data.verdict,
        reason: decision.data.reason,
      });
    } else if (isVerdictType(row.type)) {
      verdicts.push({ ...ref(row), type: row.type, status: verdictStatus(row.type) });
    }
  }
  return {
    found: true,
    chain: { created: { ...ref(first), payload: payload.data }, decisions, verdicts, escalations },
  };
}

function isVerdictType(type: string): type is VerdictEventType {
  return (VERDICT_EVENT_TYPES as readonly string[]).includes(type);
}

function verdictStatus(type: VerdictEventType): ChainVerdict['status'] {
  return type.slice('request.'.length) as ChainVerdict['status'];
}

/** The fields of a request row that a reviewer or executor relies on. */
export interface RequestRowFields {
  status: string;
  action: string;
  payloadDigest: string;
  requesterEmail: string;
  requesterName: string | null;
  requesterProof?: unknown;
  approvers: string[];
  anyApprover: boolean;
  quorum: number;
  denyQuorum: number;
  agentOwner: string | null;
  denyReasonRequired: boolean;
  title: string | null;
  reason: string | null;
  agent: unknown;
  context: unknown;
  decisions: { approverEmail: string; verdict: string }[];
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * The names of the fields in which the row differs from the chain (empty: they agree). A field
 * the request.created event does not carry (written before it was added) is not compared.
 */
export function requestRowMismatches(row: RequestRowFields, chain: RequestChain): string[] {
  const created = chain.created.payload;
  const fields: [string, boolean][] = [
    ['action', row.action === created.action],
    ['payloadDigest', row.payloadDigest === created.payloadDigest],
    ['requester', row.requesterEmail === created.requester],
    ['approvers', same([...row.approvers].sort(), [...created.approvers].sort())],
    ['anyApprover', row.anyApprover === created.anyApprover],
    ['quorum', row.quorum === created.quorum],
  ];
  const optional: [string, keyof RequestCreatedPayload, unknown][] = [
    ['title', 'title', row.title],
    ['reason', 'reason', row.reason],
    ['requesterName', 'requesterName', row.requesterName],
    ['requesterProof', 'requesterProof', row.requesterProof],
    ['agent', 'agent', row.agent],
    ['context', 'context', row.context],
    ['agentOwner', 'agentOwner', row.agentOwner],
    ['denyQuorum', 'denyQuorum', row.denyQuorum],
    ['denyReasonRequired', 'denyReasonRequired', row.denyReasonRequired],
  ];
  for (const [name, key, value] of optional) {
    if (key in created) fields.push([name, same(value, created[key])]);
  }
  const statuses = chain.verdicts.map((v) => v.status);
  fields.push([
    'status',
    row.status === 'pending' ? statuses.length === 0 : statuses.length === 1 && statuses[0] === row.status,
  ]);
  const key = (email: string, verdict: string) => `${email} ${verdict}`;
  fields.push([
    'decisions',
    same(
      row.decisions.map((d) => key(d.approverEmail, d.verdict)).sort(),
      chain.decisions.map((d) => key(d.approver, d.verdict)).sort(),
    ),
  ]);
  return fields.filter(([, agrees]) => !agrees).map(([name]) => name);
}

/** "its action, payloadDigest differ from …": one sentence for logs, problems and verify. */
export function describeMismatch(requestId: string, fields: readonly string[], chain: RequestChain): string {
  return `request ${requestId}: its ${fields.join(', ')} in approval_requests differ${fields.length === 1 ? 's' : ''} from what the audit chain recorded (request.created at seq ${chain.created.seq} and the events after it): the row was changed outside the service`;
}
