// The gateway file's shape (docs/agents/gateway.md): downstream MCP servers, which of their tools
// are held for approval, and where the secrets injected into them come from. Validated with zod.
import { z } from 'zod';

/** Letters, digits, "-" and single "_": "__" separates a server from its tool in listed names. */
export const serverName = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$/, 'must be letters, digits, "-" or "_" (never "__")')
  .max(64);

const secretName = z.string().regex(/^[\w.-]+$/, 'secret names are letters, digits, ".", "_" or "-"');

/** env:NAME (a variable of the gateway's environment) or file:/absolute/path (mode 0600 or stricter). */
export const secretSource = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be "env:NAME" or "file:/absolute/path"');

const stdioServer = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string().min(1), z.string()).default({}),
  cwd: z.string().min(1).optional(),
});

const httpServer = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  headers: z.record(z.string().min(1), z.string()).default({}),
});

const downstreamServer = z.union([stdioServer, httpServer], {
  error: 'a server has either command (+ args, env, cwd) or url (+ headers)',
});

export const decision = z.enum(['ask', 'allow', 'deny']);

/** What becomes of a request a downstream server sends to the agent's client (sampling, elicitation). */
export const peerRequests = z.enum(['refuse', 'forward'], {
  error: 'must be "refuse" or "forward"',
});

const toolGlob = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_.*-]+$/, 'must be "<server>__<tool>"; "*" matches any characters');

export const gatewayFileSchema = z.strictObject({
  servers: z.record(serverName, downstreamServer).refine((s) => Object.keys(s).length > 0, {
    message: 'name at least one server',
  }),
  tools: z.array(z.strictObject({ match: toolGlob, decide: decision })).default([]),
  default: decision.default('ask'),
  /** What tools that declare readOnlyHint get when no entry of `tools` names them. */
  readOnlyDefault: decision.optional(),
  secrets: z.record(secretName, secretSource).default({}),
  /** sampling/createMessage from a downstream server: refused, or passed to the agent's client. */
  sampling: peerRequests.default('refuse'),
  /** elicitation/create from a downstream server: refused, or passed to the agent's client. */
  elicitation: peerRequests.default('refuse'),
});

export type GatewayFile = z.output<typeof gatewayFileSchema>;
export type Decision = z.output<typeof decision>;
export type PeerRequests = z.output<typeof peerRequests>;
export type StdioServerFile = z.output<typeof stdioServer>;
export type HttpServerFile = z.output<typeof httpServer>;
