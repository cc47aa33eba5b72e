// A held tool call is an approval request: action mcp.<server>.<tool>, context = the arguments,
// requester and agent from the gateway's identity. The same call (server, tool, canonical
// arguments, identity) rejoins the same request through its Idempotency-Key, across restarts;
// once that request has run, or its refusal is older than VERDICT_MEMORY_MS, the next identical
// call asks anew (a model retrying a denied call gets the denial, not a new card).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson } from '../audit/canonical-json.ts';
import { payloadDigest } from '../approvals/payload-digest.ts';
import type { ApprovalRepresentation } from '../approvals/view/approval.ts';
import type { CreateApprovalInput, McpIdentity } from '../mcp/approval-tools.ts';
import type { GatewayBackend } from './gateway-backend.ts';

/** A refusal is answered to identical calls for this long; after it an identical call asks anew. */
export const VERDICT_MEMORY_MS = 10 * 60_000;
/** Long-poll length, and so the interval between two progress notifications. */
export const PROGRESS_INTERVAL_SECONDS = 5;
/** Rounds tried before giving up (each is a request for the same call that already ran). */
const MAX_ROUNDS = 1000;

export interface HeldCall {
  server: string;
  tool: string;
  description: string | undefined;
  /** The canonical arguments: what the digest covers and what is forwarded. */
  args: Record<string, unknown>;
}

export type HoldOutcome =
  | { kind: 'approved'; approval: ApprovalRepresentation; payloadDigest: string }
  | { kind: 'pending'; approval: ApprovalRepresentation }
  | { kind: 'refused'; approval: ApprovalRepresentation };

export interface HoldOptions {
  backend: GatewayBackend;
  identity: McpIdentity;
  /** With a progress token: called on every poll. Without: undefined, and the wait is bounded. */
  onProgress?: ((approval: ApprovalRepresentation, waitedSeconds: number) => Promise<void>) | undefined;
  /** How long a call without a progress token waits before it is answered as pending. */
  pendingAfterSeconds: number;
  signal: AbortSignal;
  now?: () => number;
}

export function actionOf(server: string, tool: string): string {
  return `mcp.${server}.${tool}`;
}

function requestBody(call: HeldCall, identity: McpIdentity): CreateApprovalInput {
  const description = call.description?.trim();
  return {
    action: actionOf(call.server, call.tool),
    title: `${call.tool} on ${call.server}`.slice(0, 300),
    ...(description
      ? {
          reason:
            description.length > 1900
              ? `Tool description: ${description.slice(0, 1900)}… (cut at 1900 characters)`
              : `Tool description: ${description}`,
        }
      : {}),
    context: call.args,
    requester: identity.requester,
    ...(identity.agent ? { agent: identity.agent } : {}),
  };
}

/** The Idempotency-Key of round `round` of a call: no argument value appears in it. */
export function holdKey(call: HeldCall, identity: McpIdentity, round: number): string {
  const digest = createHash('sha256')
    .update(
      canonicalJson({
        server: call.server,
        tool: call.tool,
        args: call.args,
        description: call.description ?? null,
        requester: identity.requester.email.toLowerCase(),
        agent: identity.agent?.name ?? null,
      }),
    )
    .digest('hex');
  return `gateway-${digest}-${round}`;
}

/**
 * Creates or rejoins the request of this call and waits for its verdict: until one comes when the
 * client gave a progress token, at most pendingAfterSeconds otherwise. "approved" means the
 * execution start is recorded and the caller must forward the call and record its outcome.
 */
export async function holdCall(call: HeldCall, options: HoldOptions): Promise<HoldOutcome> {
  const { backend, identity } = options;
  const now = options.now ?? Date.now;
  const body = requestBody(call, identity);
  const digest = payloadDigest(body.action, call.args);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const created = await backend.create(body, holdKey(call, identity, round));
    if (created.status !== 'pending') {
      const decidedAt = Date.parse(created.decidedAt ?? created.expiresAt);
      if (created.status !== 'approved' && now() - decidedAt > VERDICT_MEMORY_MS) continue;
    }
    const approval = created.status === 'pending' ? await waitForVerdict(created, options) : created;
    if (approval.status === 'pending') return { kind: 'pending', approval };
    if (approval.status === 'approved') {
      // Recorded before anything is forwarded: a request runs once, and only with its digest.
      if ((await backend.startExecution(approval.id, digest)) === 'already-executed') continue;
      return { kind: 'approved', approval, payloadDigest: digest };
    }
    return { kind: 'refused', approval };
  }
  throw new Error(`this exact call was already held ${MAX_ROUNDS} times; change its arguments`);
}

async function waitForVerdict(
  approval: ApprovalRepresentation,
  options: HoldOptions,
): Promise<ApprovalRepresentation> {
  const { backend, signal } = options;
  const started = Date.now();
  const bounded = options.onProgress === undefined;
  const deadline = bounded ? started + options.pendingAfterSeconds * 1000 : Number.POSITIVE_INFINITY;
  let current = approval;
  let failures = 0;
  while (current.status === 'pending' && Date.now() < deadline && !signal.aborted) {
    const waited = Math.round((Date.now() - started) / 1000);
    await options.onProgress?.(current, waited);
    const chunk = bounded
      ? Math.max(1, Math.min(PROGRESS_INTERVAL_SECONDS, Math.ceil((deadline - Date.now()) / 1000)))
      : PROGRESS_INTERVAL_SECONDS;
    try {
      current = await backend.get(current.id, chunk, signal);
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      if (!backend.isTransient(error)) throw error;
      failures += 1;
      await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)), undefined, { signal }).catch(
        () => undefined,
      );
    }
  }
  return current;
}

/** What the model reads when a call is not run: the verdict, who gave it and why. */
export function refusalText(approval: ApprovalRepresentation, toolName: string): string {
  const denials = approval.decisions.filter((d) => d.verdict === 'deny');
  const who = denials.map((d) => `${d.approver.email} (${d.approver.platform})`).join(', ');
  const reasons = denials.map((d) => d.reason).filter((r): r is string => !!r);
  switch (approval.status) {
    case 'denied':
      return (
        `Denied by ${who || 'Countersign'}` +
        (reasons.length > 0 ? `; reason: ${reasons.join('; ')}` : '; no reason given') +
        `. ${toolName} was not run (approval request ${approval.id}).`
      );
    case 'expired':
      return `Approval request ${approval.id} expired without a verdict. ${toolName} was not run.`;
    case 'cancelled':
      return `Approval request ${approval.id} was cancelled. ${toolName} was not run.`;
    default:
      return `Approval request ${approval.id} is ${approval.status}. ${toolName} was not run.`;
  }
}

export function pendingText(approval: ApprovalRepresentation, toolName: string): string {
  return (
    `pending approval ${approval.id}, call again with the same arguments ` +
    `(${toolName} is held until a person approves it; it has not run)`
  );
}
