// Records that an approved request ran: its start (once) and then its outcome. The request row is
// locked for the transaction, so two executors racing to start serialise and the second is refused;
// the unique request_id of request_executions backs that up. Refused attempts are audited and
// committed, then thrown, like refused decisions. A start may ask for policy secrets its rule lists
// (`secrets:`): their values are resolved here and returned to that one answer only; the chain and
// the execution row keep the names.
import { appendAuditEvent } from '../audit/append-event.ts';
import type { ExecutionOutcome, ExecutionRefusalReason } from '../audit/event-types.ts';
import type { RequestExecution } from '../generated/prisma/client.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import type { Deps } from '../deps.ts';
import { inTransaction } from '../db/transaction.ts';
import {
  findExecution,
  finishExecution,
  insertExecutionStart,
  lockClientRequest,
} from './store/execution-store.ts';
import { isUuid } from './find-request.ts';
import { readRequestChain, type RequestChain } from '../audit/request-chain.ts';
import { resolveSecret } from '../secrets/resolve-secret.ts';
import { execBindingOf } from './exec-binding.ts';

export interface RecordExecutionInput {
  requestId: string;
  /** What the executor computed over the {action, context} it runs (approvals/payload-digest.ts). */
  payloadDigest: string;
  outcome: ExecutionOutcome;
  detail?: string | null | undefined;
  exitCode?: number | null | undefined;
  /** Policy secrets the start asks for, each into an environment variable of the run. */
  secrets?: readonly ExecutionSecret[] | undefined;
}

export interface ExecutionSecret {
  /** The environment variable the executor puts the value in. */
  env: string;
  /** The name under the policy's `secrets:`. */
  secret: string;
}

export interface RecordedExecution {
  execution: RequestExecution;
  /** Environment variable → secret value, for the started run alone; empty unless asked for. */
  secretEnv: Record<string, string>;
}

const REFUSAL_ERRORS: Record<ExecutionRefusalReason, ErrorCode> = {
  not_approved: 'EXECUTION_NOT_APPROVED',
  digest_mismatch: 'PAYLOAD_DIGEST_MISMATCH',
  already_executed: 'ALREADY_EXECUTED',
  not_started: 'EXECUTION_NOT_STARTED',
  finished: 'EXECUTION_FINISHED',
  secret_not_allowed: 'SECRET_NOT_ALLOWED',
};

interface LockedRequest {
  id: string;
  status: string;
}

type Outcome =
  | { kind: 'recorded'; execution: RequestExecution; secretEnv: Record<string, string> }
  | { kind: 'refused'; reason: ExecutionRefusalReason; detail: string };

export async function recordExecution(
  deps: Pick<Deps, 'db' | 'clock' | 'events' | 'policy' | 'log' | 'secrets'>,
  clientId: string,
  input: RecordExecutionInput,
): Promise<RecordedExecution> {
  const missing = () =>
    new AppError('NOT_FOUND', { detail: `no approval request with id ${input.requestId}` });
  if (!isUuid(input.requestId)) throw missing();
  const now = deps.clock.now();
  const actor = `client:${clientId}`;
  const asked = (input.secrets ?? []).map((s) => `${s.env}=${s.secret}`);

  const outcome = await inTransaction(deps.db, async (tx): Promise<Outcome> => {
    const request = await lockClientRequest(tx, input.requestId, clientId);
    if (!request) throw missing();
    const existing = await findExecution(tx, request.id);
    // What was approved is what the chain recorded, not what the row says now.
    const chain = await readRequestChain(tx, request.id);
    if (!chain.found) throw new AppError('CHAIN_MISMATCH', { detail: chain.reason });

    const refusal =
      refusalOf(request, chain.chain, existing, input) ?? secretRefusal(deps, chain.chain, input);
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
            ...(asked.length > 0 ? { secrets: asked } : {}),
          },
        },
        now,
        deps.events,
      );
      return { kind: 'refused', ...refusal };
    }

    // Read before anything is written: a secret that cannot be read refuses the start, which stays free.
    const secretEnv = await resolveSecrets(deps, request.id, input.secrets ?? []);
    const detail = input.detail ?? null;
    const exitCode = input.exitCode ?? null;
    const execution =
      input.outcome === 'started'
        ? await insertExecutionStart(tx, {
            requestId: request.id,
            payloadDigest: input.payloadDigest,
            detail,
            exitCode,
            startedAt: now,
            secrets: asked,
          })
        : await finishExecution(tx, request.id, {
            outcome: input.outcome,
            detail,
            exitCode,
            finishedAt: now,
          });
    await appendAuditEvent(
      tx,
      {
        type: 'request.executed',
        requestId: request.id,
        actor,
        payload: {
          clientId,
          outcome: input.outcome,
          payloadDigest: input.payloadDigest,
          detail,
          exitCode,
          ...(asked.length > 0 ? { secrets: asked } : {}),
        },
      },
      now,
      deps.events,
    );
    return { kind: 'recorded', execution, secretEnv };
  });
  if (outcome.kind === 'refused') {
    throw new AppError(REFUSAL_ERRORS[outcome.reason], { detail: outcome.detail });
  }
  return { execution: outcome.execution, secretEnv: outcome.secretEnv };
}

/** A secret asked for outside a start, or one the request's rule (in the policy now) does not list. */
function secretRefusal(
  deps: Pick<Deps, 'policy'>,
  chain: RequestChain,
  input: RecordExecutionInput,
): { reason: ExecutionRefusalReason; detail: string } | undefined {
  const asked = input.secrets ?? [];
  if (asked.length === 0) return undefined;
  if (input.outcome !== 'started') {
    return { reason: 'secret_not_allowed', detail: 'secrets are handed out only to the execution start' };
  }
  const ruleName = chain.created.payload.policyRule;
  const rule = deps.policy.rules.find((r) => r.name === ruleName);
  const listed = new Set(rule?.secrets ?? []);
  const refused = asked.find((s) => !listed.has(s.secret) || !deps.policy.secrets?.has(s.secret));
  if (refused) {
    return {
      reason: 'secret_not_allowed',
      detail: `rule "${ruleName}" does not list secret "${refused.secret}" (its secrets: ${[...listed].join(', ') || 'none'})`,
    };
  }
  // The approvers saw the command's secrets by name (exec.secrets in the context the chain holds):
  // a start may ask for those and no other.
  const shown = new Set(execBindingOf(chain.created.payload.context)?.secrets ?? []);
  const unseen = asked.find((s) => !shown.has(`${s.env}=${s.secret}`));
  if (!unseen) return undefined;
  return {
    reason: 'secret_not_allowed',
    detail: `the approved request did not name ${unseen.env}=${unseen.secret} (its exec.secrets: ${[...shown].join(', ') || 'none'}): approvers see every secret a command gets`,
  };
}

async function resolveSecrets(
  deps: Pick<Deps, 'policy' | 'log' | 'secrets'>,
  requestId: string,
  asked: readonly ExecutionSecret[],
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const { env: variable, secret } of asked) {
    const reference = deps.policy.secrets?.get(secret);
    try {
      if (!reference || !deps.secrets) throw new Error('this server reads no policy secrets');
      env[variable] = await resolveSecret(reference, deps.secrets);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      deps.log.error({ requestId, secret, reason }, 'a policy secret could not be read for an execution');
      throw new AppError('SECRET_UNAVAILABLE', {
        detail: `secret "${secret}" cannot be read on the server (the server log says why); the execution was not started`,
      });
    }
  }
  return env;
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
