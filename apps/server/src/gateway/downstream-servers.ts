// The downstream MCP servers of a gateway file, each behind the SDK's Client: a child process over
// stdio (secrets only in its environment) or Streamable HTTP (secrets only in its headers). A server
// that cannot be reached or dies is marked unhealthy and named in the errors its tools return.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { redactText } from './redact-result.ts';
import type { DownstreamServer } from './load-gateway-file.ts';

/** A downstream tool call may run this long once approved. */
const CALL_TIMEOUT_MS = 10 * 60_000;

export interface DownstreamHealth {
  server: string;
  healthy: boolean;
  error?: string | undefined;
}

export class DownstreamUnavailableError extends Error {
  override name = 'DownstreamUnavailableError';
}

interface Connection {
  server: DownstreamServer;
  client?: Client | undefined;
  error?: string | undefined;
}

export interface DownstreamServersOptions {
  version: string;
  secretValues: readonly string[];
  /** Where a downstream server's stderr goes (redacted); the gateway's own stderr by default. */
  onStderr?: ((server: string, line: string) => void) | undefined;
}

export class DownstreamServers {
  private readonly connections = new Map<string, Connection>();

  constructor(
    servers: readonly DownstreamServer[],
    private readonly options: DownstreamServersOptions,
  ) {
    for (const server of servers) this.connections.set(server.name, { server });
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
  ): Promise<CallToolResult> {
    const c = this.connections.get(server);
    if (!c) throw new DownstreamUnavailableError(`no downstream server "${server}"`);
    if (!c.client) await this.connect(c);
    if (!c.client) {
      throw new DownstreamUnavailableError(
        `downstream server "${server}" is unavailable: ${c.error ?? 'not connected'}`,
      );
    }
    try {
      return (await c.client.callTool({ name: tool, arguments: args }, CallToolResultSchema, {
        signal,
        timeout: CALL_TIMEOUT_MS,
      })) as CallToolResult;
    } catch (error) {
      if (!c.client.transport) this.markUnhealthy(c, error);
      throw new DownstreamUnavailableError(`downstream server "${server}" failed: ${this.describe(error)}`);
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
    const client = new Client({ name: 'countersign-gateway', version: this.options.version });
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
