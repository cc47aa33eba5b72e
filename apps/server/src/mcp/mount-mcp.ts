// /mcp on `countersign serve`: the approval tools over Streamable HTTP, stateless (mcp-http-edge.ts).
// Bearer API key as on /v1; who the calls act for comes from the operator's MCP client
// configuration (headers), never from tool arguments.
import type { Router } from 'express';
import packageJson from '../../../../package.json' with { type: 'json' };
import { checkApproved } from '../approvals/check-receipt.ts';
import type { HttpContext } from '../http/route.ts';
import { createApprovalMcpServer } from './approval-tools.ts';
import { createInProcessBackend } from './in-process-backend.ts';
import { statelessMcpRouter } from './mcp-http-edge.ts';

export { AGENT_HEADER, REQUESTER_HEADER } from './mcp-http-edge.ts';

export function createMcpRouter(ctx: HttpContext): Router {
  return statelessMcpRouter(ctx, '/mcp', (identity, principal) =>
    createApprovalMcpServer({
      backend: createInProcessBackend(ctx, principal),
      // The same check as every client: this server's own receipt key must sign the approval.
      verifyApproved: (approval, context) => checkApproved(approval, ctx.deps.receipts.jwks(), context),
      identity,
      version: packageJson.version,
      shutdown: ctx.shutdown,
    }),
  );
}
