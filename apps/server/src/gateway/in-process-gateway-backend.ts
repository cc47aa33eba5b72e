// The gateway's backend inside `countersign serve` (/gateway/mcp): the approval use cases through
// the MCP in-process backend, and execution recording through recordExecution, under the caller's key.
import { recordExecution } from '../approvals/record-execution.ts';
import { AppError, isAppError } from '../errors.ts';
import type { HttpContext } from '../http/route.ts';
import type { Principal } from '../keys/authenticate-api-key.ts';
import { hasScope } from '../keys/scopes.ts';
import { createInProcessBackend } from '../mcp/in-process-backend.ts';
import { gatewayBackend, type GatewayBackend } from './gateway-backend.ts';
import { recordForwardedCall } from './record-forwarded-call.ts';

export function createInProcessGatewayBackend(ctx: HttpContext, principal: Principal): GatewayBackend {
  const requireWrite = () => {
    if (!hasScope(principal.scopes, 'approvals:write')) {
      throw new AppError('INSUFFICIENT_SCOPE', { detail: 'the gateway needs the "approvals:write" scope' });
    }
  };
  return gatewayBackend({
    approvals: createInProcessBackend(ctx, principal),
    async recordExecution(requestId, payloadDigest, outcome, detail) {
      requireWrite();
      await recordExecution(ctx.deps, principal.clientId, { requestId, payloadDigest, outcome, detail });
    },
    isAlreadyExecuted: (error) => isAppError(error) && error.code === 'ALREADY_EXECUTED',
    async recordForwarded(call) {
      requireWrite();
      await recordForwardedCall(ctx.deps, principal.clientId, call);
    },
  });
}
