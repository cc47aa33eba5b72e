// What every MCP-over-HTTP door (/mcp, /gateway/mcp) does before its server sees a message: the
// bearer API key as on /v1, who the calls act for from the operator's client configuration
// (headers, never tool arguments), and no JSON-RPC batches.
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { HttpContext } from '../http/route.ts';
import { parseInput } from '../http/validate.ts';
import { authenticateApiKey } from '../keys/authenticate-api-key.ts';
import type { McpIdentity } from './approval-tools.ts';

export const REQUESTER_HEADER = 'countersign-requester';
export const AGENT_HEADER = 'countersign-agent';

const identityHeaders = z.object({
  [REQUESTER_HEADER]: z.email({ error: 'must be the email of the person the agent acts for' }).max(320),
  [AGENT_HEADER]: z.string().min(1).max(200).optional(),
});

/** The API key from `Authorization: Bearer`, as the principal of `res.locals`. */
export function authenticateMcpCaller(ctx: HttpContext): RequestHandler {
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
export function mcpIdentityOf(req: Request): McpIdentity {
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
export function refusedBatch(req: Request, res: Response): boolean {
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
