// The MCP tools' backend inside `countersign serve` (/mcp): the same use cases and the same zod
// contract as POST /v1/approvals, with the key's scopes checked per call as the REST routes do.
import { cancelRequest } from '../approvals/cancel-request.ts';
import { createRequest } from '../approvals/create-request.ts';
import { getRequestView } from '../approvals/get-request.ts';
import { AppError, isAppError } from '../errors.ts';
import { presentView, presentWithReceipt } from '../approvals/view/present-with-receipt.ts';
import type { HttpContext } from '../http/route.ts';
import { createApprovalBody } from '../http/routes/approvals.create.ts';
import { parseInput } from '../http/validate.ts';
import type { Principal } from '../keys/authenticate-api-key.ts';
import { hasScope, type Scope } from '../keys/scopes.ts';
import type { ApprovalBackend } from './approval-tools.ts';

export function createInProcessBackend(ctx: HttpContext, principal: Principal): ApprovalBackend {
  const { deps, feed } = ctx;
  const need = (scope: Scope) => {
    if (!hasScope(principal.scopes, scope)) {
      throw new AppError('INSUFFICIENT_SCOPE', { detail: `this tool needs the "${scope}" scope` });
    }
  };
  return {
    async create(input, idempotencyKey) {
      need('approvals:write');
      const body = parseInput(createApprovalBody, input, 'body');
      const { request } = await createRequest(deps, principal, body, idempotencyKey);
      return presentWithReceipt(deps, request);
    },
    async get(id, waitSeconds, signal) {
      need('approvals:read');
      const view = await getRequestView(deps, feed, principal.clientId, { id, waitSeconds, signal });
      return presentView(deps, view);
    },
    async cancel(id, reason) {
      need('approvals:write');
      return presentWithReceipt(deps, await cancelRequest(deps, principal.clientId, id, { reason }));
    },
    isTransient: () => false,
    describe(error) {
      if (!isAppError(error)) {
        deps.log.error({ err: error }, 'MCP tool call failed');
        return 'INTERNAL: an unexpected error occurred';
      }
      const fields = (error.errors ?? []).map((e) => ` ${e.pointer || '/'}: ${e.message}`);
      return `${error.code}: ${error.detail}${fields.length ? ` (${fields.join(';').trim()})` : ''}`;
    },
  };
}
