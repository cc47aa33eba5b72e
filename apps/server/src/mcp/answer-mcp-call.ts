// One POST /mcp: a fresh MCP server for the caller, over a stateless Streamable HTTP transport.
// Loaded by mount-mcp.ts on the first call, so a server nobody reaches over MCP never loads the
// MCP SDK (~5 MB of JS heap, ~10 MB of resident memory measured on the server).
import type { Request, Response } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import packageJson from '../../../../package.json' with { type: 'json' };
import { checkApproved } from '../../../cli/src/verify-receipt.ts';
import { principalOf } from '../http/auth.ts';
import type { HttpContext } from '../http/route.ts';
import { createApprovalMcpServer } from './approval-tools.ts';
import { createInProcessBackend } from './in-process-backend.ts';
import { mcpIdentityOf } from './mcp-http-edge.ts';

export async function answerMcpCall(ctx: HttpContext, req: Request, res: Response): Promise<void> {
  const identity = mcpIdentityOf(req);
  const server = createApprovalMcpServer({
    backend: createInProcessBackend(ctx, principalOf(res)),
    // The same check as every client: this server's own receipt key must sign the approval.
    verifyApproved: (approval, context) => checkApproved(approval, ctx.deps.receipts.jwks(), context),
    identity,
    version: packageJson.version,
    shutdown: ctx.shutdown,
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
}
