// The SDK's real MCP client, over stdio (spawning `countersign mcp`) or Streamable HTTP (/mcp),
// with a call helper that collects progress notifications, and a receipt check against the JWKS.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { CLI_BIN, REPO_ROOT, cliEnv } from './cli.ts';

export interface McpConnection {
  client: Client;
  /** stderr of the spawned `countersign mcp` (stdio only). */
  stderr(): string;
  close(): Promise<void>;
}

export async function connectStdio(vars: Record<string, string | undefined>): Promise<McpConnection> {
  const env = Object.fromEntries(
    Object.entries(cliEnv(vars)).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_BIN, 'mcp'],
    env,
    cwd: REPO_ROOT,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'countersign-test', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`countersign mcp did not start: ${String(error)}\n--- stderr\n${stderr}`);
  }
  return { client, stderr: () => stderr, close: () => client.close() };
}

export async function connectHttp(url: string, headers: Record<string, string>): Promise<McpConnection> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers } });
  const client = new Client({ name: 'countersign-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => '', close: () => client.close() };
}

export interface ToolCall {
  result: CallToolResult;
  progress: Progress[];
  /** The text content joined, what the model reads. */
  text: string;
}

export interface PendingToolCall extends Promise<ToolCall> {
  /** Resolves once at least `count` progress notifications have arrived. */
  progressed(count: number): Promise<void>;
  /** Resolves once a progress notification whose message contains `text` has arrived. */
  progressedWith(text: string): Promise<void>;
}

export function callTool(
  connection: McpConnection,
  name: string,
  args: Record<string, unknown>,
  timeoutMs = 120_000,
): PendingToolCall {
  const progress: Progress[] = [];
  const waiters: { met: () => boolean; resolve: () => void }[] = [];
  const onprogress = (p: Progress): void => {
    progress.push(p);
    for (const waiter of waiters.filter((w) => w.met())) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const call = (async () => {
    const result = (await connection.client.callTool({ name, arguments: args }, undefined, {
      onprogress,
      timeout: timeoutMs,
      resetTimeoutOnProgress: true,
    })) as CallToolResult;
    const text = result.content
      .map((c) => (c.type === 'text' ? c.text : ''))
      .join('\n')
      .trim();
    return { result, progress, text };
  })();
  const until = (met: () => boolean, what: string): Promise<void> =>
    met()
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((resolve) => waiters.push({ met, resolve })),
          call.then(() => {
            throw new Error(`the tool call ended before ${what} (${progress.length} notifications)`);
          }),
        ]);
  return Object.assign(call, {
    progressed: (count: number) => until(() => progress.length >= count, `${count} progress notifications`),
    progressedWith: (text: string) =>
      until(() => progress.some((p) => p.message?.includes(text)), `a progress message "${text}"`),
  });
}

/** Verifies a receipt against the server's public JWKS and returns its payload. */
export async function verifyReceipt(serverUrl: string, receipt: string): Promise<Record<string, unknown>> {
  const response = await fetch(new URL('/v1/keys/receipt', serverUrl));
  const jwks = createLocalJWKSet((await response.json()) as JSONWebKeySet);
  const { payload, protectedHeader } = await compactVerify(receipt, jwks, { algorithms: ['EdDSA'] });
  if (protectedHeader.typ !== 'countersign-receipt+jwt')
    throw new Error(`receipt typ ${protectedHeader.typ}`);
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
}
