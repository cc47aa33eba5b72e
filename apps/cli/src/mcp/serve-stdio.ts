// An MCP server of the CLI (`countersign mcp`, `countersign gateway`) over stdio until the client
// goes: the server closes when stdin ends, and this resolves once the transport has closed.
// Imported lazily by those commands, so that no other command loads the MCP SDK.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { ConnectableMcpServer } from '../../../server/src/mcp/mcp-http-edge.ts';

export async function serveOverStdio(server: ConnectableMcpServer): Promise<void> {
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
  });
  await server.connect(transport);
  process.stdin.on('end', () => void server.close());
  await closed;
}
