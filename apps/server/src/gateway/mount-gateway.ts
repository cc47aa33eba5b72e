// /gateway/mcp on `countersign serve`: the gateway over Streamable HTTP, stateless (a fresh MCP
// server per POST over the shared downstream connections; mcp/mcp-http-edge.ts). Bearer API key as
// on /v1; who the calls act for comes from the operator's MCP client configuration (headers), never
// from tool arguments.
import type { Router } from 'express';
import packageJson from '../../../../package.json' with { type: 'json' };
import type { HttpContext } from '../http/route.ts';
import { statelessMcpRouter } from '../mcp/mcp-http-edge.ts';
import { createGatewayServer } from './gateway-server.ts';
import { createInProcessGatewayBackend } from './in-process-gateway-backend.ts';
import type { GatewayHost } from './start-gateway.ts';

export const GATEWAY_PATH = '/gateway/mcp';

export function createGatewayRouter(ctx: HttpContext, gateway: GatewayHost): Router {
  return statelessMcpRouter(ctx, GATEWAY_PATH, (identity, principal) =>
    Promise.resolve(
      createGatewayServer({
        config: gateway.config,
        downstream: gateway.downstream,
        backend: createInProcessGatewayBackend(ctx, principal),
        identity,
        version: packageJson.version,
        pins: gateway.pins,
        warn: (message) => ctx.deps.log.warn({ gateway: true }, message),
      }),
    ),
  );
}
