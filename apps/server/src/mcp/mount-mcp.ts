// /mcp on `countersign serve`: Streamable HTTP, stateless (a fresh MCP server per POST, so any
// replica can answer any call). Bearer API key as on /v1; who the calls act for comes from the
// operator's MCP client configuration (headers), never from tool arguments.
import express, { type Router } from 'express';
import { jsonBody } from '../http/json-body.ts';
import type { HttpContext } from '../http/route.ts';
import { authenticateMcpCaller, refusedBatch } from './mcp-http-edge.ts';

export { AGENT_HEADER, REQUESTER_HEADER } from './mcp-http-edge.ts';

export function createMcpRouter(ctx: HttpContext): Router {
  const router = express.Router();
  router.post('/mcp', authenticateMcpCaller(ctx), jsonBody({ required: true }), async (req, res) => {
    if (refusedBatch(req, res)) return;
    const { answerMcpCall } = await import('./answer-mcp-call.ts');
    await answerMcpCall(ctx, req, res);
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
