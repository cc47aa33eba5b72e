// /gateway/mcp on `countersign serve`: the gateway over Streamable HTTP, stateless (a fresh MCP
// server per POST over the shared downstream connections). Bearer API key as on /v1; who the calls
// act for comes from the operator's MCP client configuration (headers), never from tool arguments.
import express, { type Router } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import packageJson from '../../../../package.json' with { type: 'json' };
import { principalOf } from '../http/auth.ts';
import { jsonBody } from '../http/json-body.ts';
import type { HttpContext } from '../http/route.ts';
import { authenticateMcpCaller, mcpIdentityOf, refusedBatch } from '../mcp/mcp-http-edge.ts';
import { createGatewayServer } from './gateway-server.ts';
import { createInProcessGatewayBackend } from './in-process-gateway-backend.ts';
import type { GatewayHost } from './start-gateway.ts';

export const GATEWAY_PATH = '/gateway/mcp';

export function createGatewayRouter(ctx: HttpContext, gateway: GatewayHost): Router {
  const router = express.Router();
  router.post(GATEWAY_PATH, authenticateMcpCaller(ctx), jsonBody({ required: true }), async (req, res) => {
    if (refusedBatch(req, res)) return;
    const identity = mcpIdentityOf(req);
    const server = createGatewayServer({
      config: gateway.config,
      downstream: gateway.downstream,
      backend: createInProcessGatewayBackend(ctx, principalOf(res)),
      identity,
      version: packageJson.version,
      pins: gateway.pins,
      warn: (message) => ctx.deps.log.warn({ gateway: true }, message),
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  router.all(GATEWAY_PATH, (req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({
        jsonrpc: '2.0',
        error: { code: -32000, message: `${req.method} is not supported on ${GATEWAY_PATH}` },
        id: null,
      });
  });
  return router;
}
