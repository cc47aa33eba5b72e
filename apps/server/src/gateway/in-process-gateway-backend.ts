// The gateway's backend inside `countersign serve` (/gateway/mcp): the approval use cases through
// the MCP in-process backend, and execution recording through recordExecution, under the caller's key.
import { recordExecution } from '../approvals/record-execution.ts';
import { AppError, isAppError } from '../errors.ts';
import type { HttpContext } from '../http/route.ts';
import type { Principal } from '../keys/authenticate-api-key.ts';
import { hasScope } from '../keys/scopes.ts';
import { createInProcessBackend } from '../mcp/in-process-backend.ts';
import type { GatewayBackend } from './gateway-backend.ts';
import { recordForwardedCall } from './record-forwarded-call.ts';

export function createInProcessGatewayBackend(ctx: HttpContext, principal: Principal): GatewayBackend {
  const approvals = createInProcessBackend(ctx, principal);
  const record = async (
    requestId: string,
    payloadDigest: string,
    outcome: 'started' | 'succeeded' | 'failed',
    detail?: string,
  ) => {
    if (!hasScope(principal.scopes, 'approvals:write')) {
      throw new AppError('INSUFFICIENT_SCOPE', { detail: 'the gateway needs the "approvals:write" scope' });
    }
    await recordExecution(ctx.deps, principal.clientId, { requestId, payloadDigest, outcome, detail });
  };
  return {
    create: (body, key) => approvals.create(body, key),
    get: (id, waitSeconds, signal) => approvals.get(id, waitSeconds, signal),
    isTransient: (error) => approvals.isTransient(error),
    describe: (error) => approvals.describe(error),
    async startExecution(id, payloadDigest) {
      try {
        await record(id, payloadDigest, 'started');
        return 'started';
      } catch (error) {
        if (isAppError(error) && error.code === 'ALREADY_EXECUTED') return 'already-executed';
        throw error;
      }
    },
    async finishExecution(id, payloadDigest, outcome, detail) {
      await record(id, payloadDigest, outcome, detail);
    },
    async recordForwarded(call) {
      if (!hasScope(principal.scopes, 'approvals:write')) {
        throw new AppError('INSUFFICIENT_SCOPE', { detail: 'the gateway needs the "approvals:write" scope' });
      }
      await recordForwardedCall(ctx.deps, principal.clientId, call);
    },
  };
}
