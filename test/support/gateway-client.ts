// `countersign gateway` driven by the SDK's real MCP client over stdio, with the real downstream
// servers from npm (server-filesystem, server-everything) started by the gateway itself.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { CLI_BIN, REPO_ROOT, cliEnv } from './cli.ts';

const require = createRequire(import.meta.url);

/** The entry script of an MCP server package installed as a dev dependency. */
export function serverScript(
  pkg: '@modelcontextprotocol/server-everything' | '@modelcontextprotocol/server-filesystem',
): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'dist', 'index.js');
}

export interface GatewayConnection {
  client: Client;
  /** The gateway's process id, to kill it as a crash would. */
  pid: number | null;
  stderr(): string;
  close(): Promise<void>;
}

export interface GatewayClientOptions {
  /** What the agent's client declares (sampling, elicitation); nothing by default. */
  capabilities?: ClientCapabilities;
  /** Registers the client's own request handlers before it connects. */
  setup?: (client: Client) => void;
}

export async function connectGateway(
  args: string[],
  vars: Record<string, string | undefined>,
  options: GatewayClientOptions = {},
): Promise<GatewayConnection> {
  const env = Object.fromEntries(
    Object.entries(cliEnv(vars)).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_BIN, 'gateway', ...args],
    env,
    cwd: REPO_ROOT,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client(
    { name: 'countersign-gateway-test', version: '1.0.0' },
    { capabilities: options.capabilities ?? {} },
  );
  options.setup?.(client);
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`countersign gateway did not start: ${String(error)}\n--- stderr\n${stderr}`);
  }
  return { client, pid: transport.pid, stderr: () => stderr, close: () => client.close() };
}
