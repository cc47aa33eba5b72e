// The MCP server of one POST /mcp: the approval tools for the caller, checked against this server's
// own receipt key. Loaded by mount-mcp.ts on the first call, so a server nobody reaches over MCP
// never loads the MCP SDK (~5 MB of JS heap, ~10 MB of resident memory measured on the server).
import packageJson from '../../../../package.json' with { type: 'json' };
import { checkApproved } from '../approvals/check-receipt.ts';
import type { HttpContext } from '../http/route.ts';
import type { Principal } from '../keys/authenticate-api-key.ts';
import { createApprovalMcpServer, type McpIdentity } from './approval-tools.ts';
import { createInProcessBackend } from './in-process-backend.ts';
import type { ConnectableMcpServer } from './mcp-http-edge.ts';

export function approvalServerFor(
  ctx: HttpContext,
  identity: McpIdentity,
  principal: Principal,
): ConnectableMcpServer {
  return createApprovalMcpServer({
    backend: createInProcessBackend(ctx, principal),
    // The same check as every client: this server's own receipt key must sign the approval.
    verifyApproved: (approval, context) => checkApproved(approval, ctx.deps.receipts.jwks(), context),
    identity,
    version: packageJson.version,
    shutdown: ctx.shutdown,
  });
}
