// POST /gateway/interceptor: docker/mcp-gateway's `before:http` interceptor contract as that gateway
// sends it — the go-sdk CallToolRequest marshalled without JSON tags ({"Session":{},"Params":{"name",
// "arguments"},"Extra":null}), no Content-Type, no auth header, no progress, no timeout of its own.
// An empty answer lets the call through; a CallToolResult answers instead of the tool. A held call
// answers at once with "pending approval <id>"; the same call after approval passes once.
// docker/mcp-gateway sends no headers of its own, so the API key, requester, agent and server name
// are in the interceptor URL the operator configures (query values are redacted from logs).
import express, { type Router } from 'express';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { canonicalJson } from '../audit/canonical-json.ts';
import { AppError } from '../errors.ts';
import type { HttpContext } from '../http/route.ts';
import { parseInput } from '../http/validate.ts';
import { authenticateApiKey } from '../keys/authenticate-api-key.ts';
import type { McpIdentity } from '../mcp/approval-tools.ts';
import { decideTool, TOOL_NAME } from './decide-tool.ts';
import { serverName } from './gateway-file-schema.ts';
import { holdCall, pendingText, refusalText } from './hold-call.ts';
import { createInProcessGatewayBackend } from './in-process-gateway-backend.ts';

export const INTERCEPTOR_PATH = '/gateway/interceptor';
const MAX_BODY_BYTES = 64 * 1024;

const querySchema = z.object({
  api_key: z.string().min(1).optional(),
  requester: z.email({ error: 'must be the email of the person the agent acts for' }).max(320),
  agent: z.string().min(1).max(200).optional(),
  server: serverName.default('docker'),
});

/** The fields of the go-sdk CallToolRequest this endpoint reads; its other fields are ignored. */
const interceptedCall = z.object({
  Params: z.object({
    name: z.string().regex(TOOL_NAME, 'must be an MCP tool name').max(128),
    arguments: z.record(z.string(), z.unknown()).nullish(),
  }),
});

function toolResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

export function createInterceptorRouter(ctx: HttpContext): Router {
  const router = express.Router();
  router.post(
    INTERCEPTOR_PATH,
    // No Content-Type is sent: take the body as text whatever it says it is.
    express.text({ type: () => true, limit: MAX_BODY_BYTES }),
    async (req, res) => {
      const query = parseInput(querySchema, req.query, 'query');
      if (!query.api_key) {
        throw new AppError('API_KEY_MISSING', {
          detail: 'put the API key in the interceptor URL as ?api_key=: docker/mcp-gateway sends no headers',
        });
      }
      const principal = await authenticateApiKey(ctx.deps.db, query.api_key);
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        body = undefined;
      }
      const parsed = interceptedCall.safeParse(body);
      if (!parsed.success) {
        // Still a CallToolResult, so docker/mcp-gateway shows the model why instead of failing to parse.
        const issue = parsed.error.issues[0];
        res
          .status(400)
          .json(
            toolResult(
              `Countersign could not read the intercepted call: ${issue ? `/${issue.path.join('/')}: ${issue.message}` : 'not JSON'}`,
            ),
          );
        return;
      }
      const tool = parsed.data.Params.name;
      const args = JSON.parse(canonicalJson(parsed.data.Params.arguments ?? {})) as Record<string, unknown>;
      const full = `${query.server}__${tool}`;
      const decision = ctx.gateway ? decideTool(ctx.gateway.config.file, full, undefined) : 'ask';
      if (decision === 'allow') {
        res.status(204).end();
        return;
      }
      if (decision === 'deny') {
        res.json(toolResult(`${full} is denied by the Countersign gateway configuration; it was not run.`));
        return;
      }
      const identity: McpIdentity = {
        requester: { email: query.requester },
        ...(query.agent ? { agent: { name: query.agent } } : {}),
      };
      const backend = createInProcessGatewayBackend(ctx, principal);
      const aborted = new AbortController();
      res.on('close', () => aborted.abort());
      try {
        const outcome = await holdCall(
          { server: query.server, tool, description: undefined, args },
          { backend, identity, pendingAfterSeconds: 0, signal: aborted.signal },
        );
        if (outcome.kind === 'approved') {
          // The execution start is recorded; an empty answer lets docker/mcp-gateway run the call.
          res.status(204).end();
          return;
        }
        res.json(
          toolResult(
            outcome.kind === 'pending'
              ? pendingText(outcome.approval, full)
              : refusalText(outcome.approval, full),
          ),
        );
      } catch (error) {
        if (error instanceof AppError) {
          res.status(200).json(toolResult(`${full} was not run: ${backend.describe(error)}`));
          return;
        }
        throw error;
      }
    },
  );
  return router;
}
