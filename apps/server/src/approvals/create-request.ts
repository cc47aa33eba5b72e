// Creates an approval request, or replays the one created earlier under the same Idempotency-Key.
import { createHash } from 'node:crypto';
import type { Prisma } from '../db/client.ts';
import { appendAuditEvent } from '../audit/append-event.ts';
import { AppError } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { resolveRules } from './approval-rules.ts';
import { canonicalJson } from './canonical-json.ts';
import { payloadDigest } from './payload-digest.ts';
import { findRequestForClient, type RequestWithDecisions } from './find-request.ts';

export interface CreateRequestInput {
  action: string;
  title?: string | undefined;
  reason?: string | undefined;
  requester: { email: string; name?: string | undefined };
  agent?: { name: string; model?: string | undefined; runId?: string | undefined } | undefined;
  context?: Record<string, unknown> | undefined;
  sensitive?: string[] | undefined;
  approvers?: string[] | undefined;
  quorum?: number | undefined;
  channel?: string | undefined;
  expiresIn?: number | undefined;
  callbackUrl?: string | undefined;
}

export interface CreateRequestResult {
  request: RequestWithDecisions;
  /** True when an earlier request with the same Idempotency-Key and body was returned. */
  replayed: boolean;
}

function requestHash(input: CreateRequestInput): string {
  return createHash('sha256').update(canonicalJson(input)).digest('hex');
}

export async function createRequest(
  deps: Deps,
  clientId: string,
  input: CreateRequestInput,
  idempotencyKey?: string,
): Promise<CreateRequestResult> {
  const hash = requestHash(input);
  if (idempotencyKey) {
    const earlier = await findIdempotentReplay(deps, clientId, idempotencyKey, hash);
    if (earlier) return { request: earlier, replayed: true };
  }

  const now = deps.clock.now();
  const rules = resolveRules(input);
  const context = input.context ?? {};
  const data = {
    clientId,
    action: input.action,
    title: input.title ?? null,
    reason: input.reason ?? null,
    requesterEmail: input.requester.email.toLowerCase(),
    requesterName: input.requester.name ?? null,
    agent: (input.agent ?? undefined) as Prisma.InputJsonValue | undefined,
    context: context as Prisma.InputJsonValue,
    payloadDigest: payloadDigest(input.action, context),
    approvers: rules.approvers,
    quorum: rules.quorum,
    denyQuorum: rules.denyQuorum,
    policyRule: rules.policyRule,
    channel: rules.channel,
    callbackUrl: input.callbackUrl ?? null,
    idempotencyKey: idempotencyKey ?? null,
    requestHash: hash,
    createdAt: now,
    expiresAt: new Date(now.getTime() + rules.expiresInSeconds * 1000),
  } satisfies Prisma.ApprovalRequestUncheckedCreateInput;

  try {
    const id = await deps.db.prisma.$transaction(async (tx) => {
      const created = await tx.approvalRequest.create({ data, select: { id: true } });
      await appendAuditEvent(
        tx,
        {
          type: 'request.created',
          requestId: created.id,
          actor: `client:${clientId}`,
          payload: {
            clientId,
            action: data.action,
            requester: data.requesterEmail,
            payloadDigest: data.payloadDigest,
            expiresAt: data.expiresAt.toISOString(),
          },
        },
        now,
      );
      return created.id;
    });
    const request = await findRequestForClient(deps.db.prisma, clientId, id);
    return { request, replayed: false };
  } catch (error) {
    // Two concurrent creates with one Idempotency-Key: the loser replays or conflicts with the winner.
    if (idempotencyKey && isUniqueViolation(error)) {
      const earlier = await findIdempotentReplay(deps, clientId, idempotencyKey, hash);
      if (earlier) return { request: earlier, replayed: true };
    }
    throw error;
  }
}

async function findIdempotentReplay(
  deps: Deps,
  clientId: string,
  idempotencyKey: string,
  hash: string,
): Promise<RequestWithDecisions | undefined> {
  const earlier = await deps.db.prisma.approvalRequest.findUnique({
    where: { clientId_idempotencyKey: { clientId, idempotencyKey } },
    select: { id: true, requestHash: true },
  });
  if (!earlier) return undefined;
  if (earlier.requestHash !== hash) {
    throw new AppError('IDEMPOTENCY_CONFLICT', {
      detail: `Idempotency-Key "${idempotencyKey}" was already used with a different body (request ${earlier.id})`,
    });
  }
  return findRequestForClient(deps.db.prisma, clientId, earlier.id);
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'P2002';
}
