// /mcp on `countersign serve`: Streamable HTTP, stateless (a fresh MCP server per POST, so any
// replica can answer any call). Bearer API key as on /v1; who the calls act for comes from the
// operator's MCP client configuration (headers), never from tool arguments.
import express, { type Router } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import packageJson from '../../../../package.json' with { type: 'json' };
import { checkApproved } from '../../../cli/src/verify-receipt.ts';
import { AppError } from '../errors.ts';
import { principalOf } from '../http/auth.ts';
import { jsonBody } from '../http/json-body.ts';
import type { HttpContext } from '../http/route.ts';
import { parseInput } from '../http/validate.ts';
import { authenticateApiKey } from '../keys/authenticate-api-key.ts';
import { createApprovalMcpServer, type McpIdentity } from './approval-tools.ts';
import { createInProcessBackend } from './in-process-backend.ts';

export const REQUESTER_HEADER = 'countersign-requester';
export const AGENT_HEADER = 'countersign-agent';

const identityHeaders = z.object({
  [REQUESTER_HEADER]: z.email({ error: 'must be the email of the person the agent acts for' }).max(320),
  [AGENT_HEADER]: z.string().min(1).max(200).optional(),
});

export function createMcpRouter(ctx: HttpContext): Router {
  const router = express.Router();
  const authenticate: express.RequestHandler = async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match?.[1]) {
      throw new AppError('API_KEY_MISSING', { detail: 'send the API key as "Authorization: Bearer <key>"' });
    }
    res.locals['principal'] = await authenticateApiKey(ctx.deps.db, match[1]);
    next();
  };

  router.post('/mcp', authenticate, jsonBody({ required: true }), async (req, res) => {
    // The SDK would run every call of a batch, past the limits a single call meets; the MCP
    // specification (2025-06-18) dropped batching, so a batch is refused whole.
    if (Array.isArray(req.body)) {
      res.status(400).json({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32600,
          message:
            'JSON-RPC batches are not supported (the current MCP specification removed them): send one call per request',
        },
      });
      return;
    }
    const headers = parseInput(identityHeaders, req.headers, 'header');
    const identity: McpIdentity = {
      requester: { email: headers[REQUESTER_HEADER] },
      ...(headers[AGENT_HEADER] ? { agent: { name: headers[AGENT_HEADER] } } : {}),
    };
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
