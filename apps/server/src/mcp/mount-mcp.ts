// /mcp on `countersign serve`: Streamable HTTP, stateless (a fresh MCP server per POST, so any
// replica can answer any call). Bearer API key as on /v1; who the calls act for comes from the
// operator's MCP client configuration (headers), never from tool arguments.
import express, { type Router } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import packageJson from '../../../../package.json' with { type: 'json' };
import { checkApproved } from '../approvals/check-receipt.ts';
import { principalOf } from '../http/auth.ts';
import { jsonBody } from '../http/json-body.ts';
import type { HttpContext } from '../http/route.ts';
import { createApprovalMcpServer } from './approval-tools.ts';
import { createInProcessBackend } from './in-process-backend.ts';
import { authenticateMcpCaller, mcpIdentityOf, refusedBatch } from './mcp-http-edge.ts';

export { AGENT_HEADER, REQUESTER_HEADER } from './mcp-http-edge.ts';

export function createMcpRouter(ctx: HttpContext): Router {
  const router = express.Router();
  router.post('/mcp', authenticateMcpCaller(ctx), jsonBody({ required: true }), async (req, res) => {
    if (refusedBatch(req, res)) return;
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
  });
  // Stateless: no session to stream from (GET) or to end (DELETE).
  router.all('/mcp', (req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({
        jsonrpc: '2.0',
        error: { code: -32000, message: `${req.method} is not supported on /mcp` },
        id: null,
      });
  });
  return router;
}
