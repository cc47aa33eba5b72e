// Records that an approved request ran: its start (once) and then its outcome. The request row is
// locked for the transaction, so two executors racing to start serialise and the second is refused;
// the unique request_id of request_executions backs that up. Refused attempts are audited and
// committed, then thrown, like refused decisions.
import { appendAuditEvent } from '../audit/append-event.ts';
import type { ExecutionOutcome, ExecutionRefusalReason } from '../audit/event-types.ts';
import type { RequestExecution } from '../generated/prisma/client.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { isUuid } from './find-request.ts';
import { readRequestChain, type RequestChain } from '../audit/request-chain.ts';

export interface RecordExecutionInput {
  requestId: string;
  /** What the executor computed over the {action, context} it runs (approvals/payload-digest.ts). */
  payloadDigest: string;
  outcome: ExecutionOutcome;
  detail?: string | null | undefined;
  exitCode?: number | null | undefined;
}

const REFUSAL_ERRORS: Record<ExecutionRefusalReason, ErrorCode> = {
  not_approved: 'EXECUTION_NOT_APPROVED',
  digest_mismatch: 'PAYLOAD_DIGEST_MISMATCH',
  already_executed: 'ALREADY_EXECUTED',
  not_started: 'EXECUTION_NOT_STARTED',
  finished: 'EXECUTION_FINISHED',
};

interface LockedRequest {
  id: string;
  status: string;
}

type Outcome =
  | { kind: 'recorded'; execution: RequestExecution }
  | { kind: 'refused'; reason: ExecutionRefusalReason; detail: string };

export async function recordExecution(
  deps: Pick<Deps, 'db' | 'clock' | 'events'>,
  clientId: string,
  input: RecordExecutionInput,
): Promise<RequestExecution> {
  const missing = () =>
    new AppError('NOT_FOUND', { detail: `no approval request with id ${input.requestId}` });
  if (!isUuid(input.requestId)) throw missing();
  const now = deps.clock.now();
  const actor = `client:${clientId}`;

  const outcome = await deps.db.prisma.$transaction(async (tx): Promise<Outcome> => {
    const [request] = await tx.$queryRaw<LockedRequest[]>`
      SELECT id, status::text AS status
        FROM approval_requests WHERE id = ${input.requestId}::uuid AND client_id = ${clientId}::uuid
         FOR UPDATE`;
    if (!request) throw missing();
    const existing = await tx.requestExecution.findUnique({ where: { requestId: request.id } });
    // What was approved is what the chain recorded, not what the row says now.
    const chain = await readRequestChain(tx, request.id);
    if (!chain.found) throw new AppError('CHAIN_MISMATCH', { detail: chain.reason });

    const refusal = refusalOf(request, chain.chain, existing, input);
    if (refusal) {
      await appendAuditEvent(
        tx,
        {
          type: 'execution.refused',
          requestId: request.id,
          actor,
          payload: {
            clientId,
            reason: refusal.reason,
            outcome: input.outcome,
            payloadDigest: input.payloadDigest,
            status: request.status,
          },
        },
        now,
        deps.events,
      );
      return { kind: 'refused', ...refusal };
    }

    const detail = input.detail ?? null;
    const exitCode = input.exitCode ?? null;
    const execution =
      input.outcome === 'started'
        ? await tx.requestExecution.create({
            data: {
              requestId: request.id,
              payloadDigest: input.payloadDigest,
              outcome: 'started',
              detail,
              exitCode,
              startedAt: now,
            },
          })
        : await tx.requestExecution.update({
            where: { requestId: request.id },
            data: { outcome: input.outcome, detail, exitCode, finishedAt: now },
          });
    await appendAuditEvent(
      tx,
      {
        type: 'request.executed',
        requestId: request.id,
        actor,
        payload: { clientId, outcome: input.outcome, payloadDigest: input.payloadDigest, detail, exitCode },
      },
      now,
      deps.events,
    );
    return { kind: 'recorded', execution };
  });
  if (outcome.kind === 'refused') {
    throw new AppError(REFUSAL_ERRORS[outcome.reason], { detail: outcome.detail });
  }
  return outcome.execution;
}

function refusalOf(
  request: LockedRequest,
  chain: RequestChain,
  existing: RequestExecution | null,
  input: RecordExecutionInput,
): { reason: ExecutionRefusalReason; detail: string } | undefined {
  const verdicts = chain.verdicts.map((v) => v.status);
  if (request.status !== 'approved' || verdicts.length !== 1 || verdicts[0] !== 'approved') {
    const recorded = verdicts.join(', ') || 'no verdict';
    return {
      reason: 'not_approved',
      detail:
        request.status === 'approved'
          ? `approval request ${request.id} is approved in its row but the audit chain records ${recorded}: only an approved request may run`
          : `approval request ${request.id} is ${request.status}: only an approved request may run`,
    };
  }
  const approvedDigest = chain.created.payload.payloadDigest;
  if (input.payloadDigest !== approvedDigest) {
    return {
      reason: 'digest_mismatch',
      detail:
        `payloadDigest ${input.payloadDigest} is not the approved ${approvedDigest}: ` +
        'what is about to run is not what was approved',
    };
  }
  if (input.outcome === 'started') {
    if (existing) {
      return {
        reason: 'already_executed',
        detail: `approval request ${request.id} was already executed (started ${existing.startedAt.toISOString()})`,
      };
    }
    return undefined;
  }
  if (!existing) {
    return {
      reason: 'not_started',
      detail: `approval request ${request.id} has no started execution; record "started" first`,
    };
  }
  if (existing.outcome !== 'started') {
    return {
      reason: 'finished',
      detail: `the execution of approval request ${request.id} already ${existing.outcome}`,
    };
  }
  return undefined;
}
