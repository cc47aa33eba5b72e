// What every MCP-over-HTTP door (/mcp, /gateway/mcp) does around its server: the bearer API key as
// on /v1, who the calls act for from the operator's client configuration (headers, never tool
// arguments), no JSON-RPC batches, and Streamable HTTP without sessions (a fresh MCP server per
// POST, so any replica can answer any call; nothing to stream from with GET or end with DELETE).
// The MCP SDK is loaded on the first call: a server nobody reaches over MCP never loads it.
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { jsonBody } from '../http/json-body.ts';
import type { HttpContext } from '../http/route.ts';
import { parseInput } from '../http/validate.ts';
import { authenticateApiKey, type Principal } from '../keys/authenticate-api-key.ts';
import type { McpIdentity } from './approval-tools.ts';

export const REQUESTER_HEADER = 'countersign-requester';
export const AGENT_HEADER = 'countersign-agent';

const identityHeaders = z.object({
  [REQUESTER_HEADER]: z.email({ error: 'must be the email of the person the agent acts for' }).max(320),
  [AGENT_HEADER]: z.string().min(1).max(200).optional(),
});

/** The API key from `Authorization: Bearer`, as the principal of `res.locals`. */
function authenticateMcpCaller(ctx: HttpContext): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match?.[1]) {
      throw new AppError('API_KEY_MISSING', { detail: 'send the API key as "Authorization: Bearer <key>"' });
    }
    res.locals['principal'] = await authenticateApiKey(ctx.deps.db, match[1]);
    next();
  };
}

/** Who the calls act for, from the identity headers (422 when missing or malformed). */
function mcpIdentityOf(req: Request): McpIdentity {
  const headers = parseInput(identityHeaders, req.headers, 'header');
  return {
    requester: { email: headers[REQUESTER_HEADER] },
    ...(headers[AGENT_HEADER] ? { agent: { name: headers[AGENT_HEADER] } } : {}),
  };
}

/**
 * Refuses a JSON-RPC batch whole (answers it and returns true): the SDK would run every call of a
 * batch past the limits a single call meets, and the MCP specification (2025-06-18) dropped them.
 */
function refusedBatch(req: Request, res: Response): boolean {
  if (!Array.isArray(req.body)) return false;
  res.status(400).json({
    jsonrpc: '2.0',
    id: null,
    error: {
      code: -32600,
      message:
        'JSON-RPC batches are not supported (the current MCP specification removed them): send one call per request',
    },
  });
  return true;
}

/** An MCP server as the SDK's McpServer and Server both are: it connects to a transport and closes. */
export interface ConnectableMcpServer {
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

/**
 * The router of one MCP door at `path`: `serverFor` makes the MCP server of one authenticated POST
 * (it may load the door's MCP modules on first use).
 */
export function statelessMcpRouter(
  ctx: HttpContext,
  path: string,
  serverFor: (identity: McpIdentity, principal: Principal) => Promise<ConnectableMcpServer>,
): Router {
  const router = express.Router();
  router.post(path, authenticateMcpCaller(ctx), jsonBody({ required: true }), async (req, res) => {
    if (refusedBatch(req, res)) return;
    const identity = mcpIdentityOf(req);
    const [server, { StreamableHTTPServerTransport }] = await Promise.all([
      serverFor(identity, principalOf(res)),
      import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
    ]);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  router.all(path, (req, res) => {
    res
      .status(405)
      .set('Allow', 'POST')
      .json({
        jsonrpc: '2.0',
        error: { code: -32000, message: `${req.method} is not supported on ${path}` },
        id: null,
      });
  });
  return router;
}
