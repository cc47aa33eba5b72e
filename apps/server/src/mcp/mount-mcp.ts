// /mcp on `countersign serve`: the approval tools over Streamable HTTP, stateless (mcp-http-edge.ts).
// Bearer API key as on /v1; who the calls act for comes from the operator's MCP client
// configuration (headers), never from tool arguments. The tools load on the first call.
import type { Router } from 'express';
import type { HttpContext } from '../http/route.ts';
import { statelessMcpRouter } from './mcp-http-edge.ts';

export { AGENT_HEADER, REQUESTER_HEADER } from './mcp-http-edge.ts';

export function createMcpRouter(ctx: HttpContext): Router {
  return statelessMcpRouter(ctx, '/mcp', async (identity, principal) => {
    const { approvalServerFor } = await import('./approval-server-for.ts');
    return approvalServerFor(ctx, identity, principal);
  });
}
