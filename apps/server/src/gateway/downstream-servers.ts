// The downstream MCP servers of a gateway file, each behind the SDK's Client: a child process over
// stdio (secrets only in its environment) or Streamable HTTP (secrets only in its headers). A server
// that cannot be reached or dies is marked unhealthy and named in the errors its tools return.
// Sampling and elicitation requests a downstream server sends are refused (its client declares
// neither capability) unless the gateway file says "forward": then they go to the agent's client
// of the one call running on that server, and nowhere else.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  type CallToolResult,
  type ClientCapabilities,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequest,
  type ElicitResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { PeerRequests } from './gateway-file-schema.ts';
import { redactText } from './redact-result.ts';
import type { DownstreamServer } from './load-gateway-file.ts';

/** A downstream tool call may run this long once approved. */
const CALL_TIMEOUT_MS = 10 * 60_000;

export interface DownstreamHealth {
  server: string;
  healthy: boolean;
  error?: string | undefined;
}

/**
 * A refusal sent back to the downstream server as a JSON-RPC error: its message as written (an
 * McpError's would be sent with "MCP error <code>:" in front, and the server's client adds its own).
 */
function peerRefusal(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class DownstreamUnavailableError extends Error {
  override name = 'DownstreamUnavailableError';
}

/** The agent's side of one tool call: where that call's sampling or elicitation requests may go. */
export interface UpstreamPeer {
  /** Undefined when the agent's client did not declare sampling. */
  createMessage?:
    | ((params: CreateMessageRequest['params'], signal: AbortSignal) => Promise<CreateMessageResult>)
    | undefined;
  /** Undefined when the agent's client did not declare elicitation. */
  elicit?: ((params: ElicitRequest['params'], signal: AbortSignal) => Promise<ElicitResult>) | undefined;
}

interface Connection {
  server: DownstreamServer;
  client?: Client | undefined;
  error?: string | undefined;
  /** The calls running on this server, each with its agent's side. */
  running: Set<UpstreamPeer>;
}

export interface DownstreamServersOptions {
  version: string;
  secretValues: readonly string[];
  /** Where a downstream server's stderr goes (redacted); the gateway's own stderr by default. */
  onStderr?: ((server: string, line: string) => void) | undefined;
  /** The gateway file's `sampling`; "refuse" when not given. */
  sampling?: PeerRequests | undefined;
  /** The gateway file's `elicitation`; "refuse" when not given. */
  elicitation?: PeerRequests | undefined;
  /** One line per forwarded or refused peer request (no content). */
  onPeerRequest?: ((server: string, line: string) => void) | undefined;
}

export class DownstreamServers {
  private readonly connections = new Map<string, Connection>();

  constructor(
    servers: readonly DownstreamServer[],
    private readonly options: DownstreamServersOptions,
  ) {
    for (const server of servers) this.connections.set(server.name, { server, running: new Set() });
  }

  /** Connects every server that is not connected; failures are kept as that server's health. */
  async connectAll(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => this.connect(c)));
  }

  health(): DownstreamHealth[] {
    return [...this.connections.values()].map((c) => ({
      server: c.server.name,
      healthy: c.client !== undefined,
      ...(c.error ? { error: c.error } : {}),
    }));
  }

  has(server: string): boolean {
    return this.connections.has(server);
  }

  /** Every tool of every healthy server, per server. */
  async listTools(): Promise<{ server: string; tools: Tool[] }[]> {
    const lists = await Promise.all(
      [...this.connections.values()].map(async (c) => {
        if (!c.client) await this.connect(c);
        if (!c.client) return { server: c.server.name, tools: [] };
        try {
          const tools: Tool[] = [];
          let cursor: string | undefined;
          do {
            const page = await c.client.listTools(cursor ? { cursor } : {});
            tools.push(...page.tools);
            cursor = page.nextCursor;
          } while (cursor);
          return { server: c.server.name, tools };
        } catch (error) {
          this.markUnhealthy(c, error);
          return { server: c.server.name, tools: [] };
        }
      }),
    );
    return lists;
  }

  async callTool(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    upstream: UpstreamPeer = {},
  ): Promise<CallToolResult> {
    const c = this.connections.get(server);
    if (!c) throw new DownstreamUnavailableError(`no downstream server "${server}"`);
    if (!c.client) await this.connect(c);
    if (!c.client) {
      throw new DownstreamUnavailableError(
        `downstream server "${server}" is unavailable: ${c.error ?? 'not connected'}`,
      );
    }
    const client = c.client;
    c.running.add(upstream);
    try {
      return (await client.callTool({ name: tool, arguments: args }, CallToolResultSchema, {
        signal,
        timeout: CALL_TIMEOUT_MS,
      })) as CallToolResult;
    } catch (error) {
      if (!client.transport) this.markUnhealthy(c, error);
      throw new DownstreamUnavailableError(`downstream server "${server}" failed: ${this.describe(error)}`);
    } finally {
      c.running.delete(upstream);
    }
  }

  /** The agent's side a peer request of server `c` goes to: the one call running there. */
  private peerOf(c: Connection, what: 'sampling' | 'elicitation'): UpstreamPeer {
    const name = c.server.name;
    const refuse = (reason: string): never => {
      this.options.onPeerRequest?.(name, `${what} request refused: ${reason}`);
      throw peerRefusal(
        ErrorCode.InvalidRequest,
        `the Countersign gateway refused this ${what} request: ${reason}`,
      );
    };
    if (c.running.size === 0) return refuse('no tool call of this server is running');
    // With two calls running, nothing says whose agent the request is for: it goes to neither.
    if (c.running.size > 1) return refuse('more than one tool call of this server is running');
    const [peer] = c.running;
    return peer ?? refuse('no tool call of this server is running');
  }

  private capabilities(): ClientCapabilities {
    return {
      ...(this.options.sampling === 'forward' ? { sampling: {} } : {}),
      ...(this.options.elicitation === 'forward' ? { elicitation: {} } : {}),
    };
  }

  /** Handlers for the peer requests the gateway file forwards; the others stay undeclared. */
  private handlePeerRequests(client: Client, c: Connection): void {
    const name = c.server.name;
    // A request the gateway file does not forward (or any other the gateway has no handler for)
    // gets a refusal that says why, whether or not the server looked at the declared capabilities.
    client.fallbackRequestHandler = (request) => {
      const what =
        request.method === 'sampling/createMessage'
          ? 'sampling'
          : request.method === 'elicitation/create'
            ? 'elicitation'
            : undefined;
      if (what) this.options.onPeerRequest?.(name, `${what} request refused (${what}: refuse)`);
      return Promise.reject(
        peerRefusal(
          ErrorCode.MethodNotFound,
          what
            ? `the Countersign gateway refuses ${what} requests (the gateway file says ${what}: refuse)`
            : `the Countersign gateway does not handle ${request.method}`,
        ),
      );
    };
    if (this.options.sampling === 'forward') {
      client.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
        const send = this.peerOf(c, 'sampling').createMessage;
        if (!send) {
          this.options.onPeerRequest?.(
            name,
            "sampling request refused: the agent's client does not support sampling",
          );
          throw peerRefusal(ErrorCode.InvalidRequest, "the agent's client does not support sampling");
        }
        this.options.onPeerRequest?.(name, "sampling request forwarded to the agent's client");
        return send(request.params, extra.signal);
      });
    }
    if (this.options.elicitation === 'forward') {
      client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
        const send = this.peerOf(c, 'elicitation').elicit;
        if (!send) {
          this.options.onPeerRequest?.(
            name,
            "elicitation request refused: the agent's client does not support elicitation",
          );
          throw peerRefusal(ErrorCode.InvalidRequest, "the agent's client does not support elicitation");
        }
        this.options.onPeerRequest?.(name, "elicitation request forwarded to the agent's client");
        return send(request.params, extra.signal);
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.connections.values()].map(async (c) => {
        const client = c.client;
        c.client = undefined;
        await client?.close().catch(() => undefined);
      }),
    );
  }

  private describe(error: unknown): string {
    return redactText(error instanceof Error ? error.message : String(error), this.options.secretValues);
  }

  private markUnhealthy(c: Connection, error: unknown): void {
    const client = c.client;
    c.client = undefined;
    c.error = this.describe(error);
    void client?.close().catch(() => undefined);
  }

  private async connect(c: Connection): Promise<void> {
    const { server } = c;
    const client = new Client(
      { name: 'countersign-gateway', version: this.options.version },
      { capabilities: this.capabilities() },
    );
    this.handlePeerRequests(client, c);
    let transport: Transport;
    if (server.kind === 'stdio') {
      const stdio = new StdioClientTransport({
        command: server.command,
        args: server.args,
        env: server.env,
        ...(server.cwd ? { cwd: server.cwd } : {}),
        stderr: 'pipe',
      });
      stdio.stderr?.on('data', (chunk: Buffer) => {
        const text = redactText(chunk.toString('utf8'), this.options.secretValues);
        if (this.options.onStderr) this.options.onStderr(server.name, text);
        else process.stderr.write(`[${server.name}] ${text}`);
      });
      transport = stdio;
    } else {
      transport = new StreamableHTTPClientTransport(new URL(server.url), {
        requestInit: { headers: server.headers },
      });
    }
    client.onclose = () => {
      if (c.client === client) {
        c.client = undefined;
        c.error = 'the connection closed';
      }
    };
    try {
      await client.connect(transport);
      c.client = client;
      c.error = undefined;
    } catch (error) {
      c.client = undefined;
      c.error = this.describe(error);
      await client.close().catch(() => undefined);
    }
  }
}
