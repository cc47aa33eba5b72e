// /gateway/mcp on `countersign serve`: the gateway over Streamable HTTP, stateless (a fresh MCP
// server per POST over the shared downstream connections). Bearer API key as on /v1; who the calls
// act for comes from the operator's MCP client configuration (headers), never from tool arguments.
import express, { type Router } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import packageJson from '../../../../package.json' with { type: 'json' };
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { jsonBody } from '../http/json-body.ts';
import type { HttpContext } from '../http/route.ts';
import { parseInput } from '../http/validate.ts';
import { authenticateApiKey } from '../keys/authenticate-api-key.ts';
import type { McpIdentity } from '../mcp/approval-tools.ts';
import { AGENT_HEADER, REQUESTER_HEADER } from '../mcp/mount-mcp.ts';
import { createGatewayServer } from './gateway-server.ts';
import { createInProcessGatewayBackend } from './in-process-gateway-backend.ts';
import type { GatewayHost } from './start-gateway.ts';

export const GATEWAY_PATH = '/gateway/mcp';

const identityHeaders = z.object({
  [REQUESTER_HEADER]: z.email({ error: 'must be the email of the person the agent acts for' }).max(320),
  [AGENT_HEADER]: z.string().min(1).max(200).optional(),
});

export function createGatewayRouter(ctx: HttpContext, gateway: GatewayHost): Router {
  const router = express.Router();
  const authenticate: express.RequestHandler = async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match?.[1]) {
      throw new AppError('API_KEY_MISSING', { detail: 'send the API key as "Authorization: Bearer <key>"' });
    }
    res.locals['principal'] = await authenticateApiKey(ctx.deps.db, match[1]);
    next();
  };

  router.post(GATEWAY_PATH, authenticate, jsonBody({ required: true }), async (req, res) => {
    const headers = parseInput(identityHeaders, req.headers, 'header');
    const identity: McpIdentity = {
      requester: { email: headers[REQUESTER_HEADER] },
      ...(headers[AGENT_HEADER] ? { agent: { name: headers[AGENT_HEADER] } } : {}),
    };
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
