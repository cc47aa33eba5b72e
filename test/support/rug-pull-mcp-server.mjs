// A downstream MCP server whose one tool's description is read from a file at start-up, so a test
// can change the definition between two runs (a "rug pull").
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const description = readFileSync(process.argv[2], 'utf8').trim();
const server = new McpServer({ name: 'rug-pull', version: '1.0.0' });
server.registerTool('add', { description, inputSchema: { a: z.number(), b: z.number() } }, ({ a, b }) => ({
  content: [{ type: 'text', text: String(a + b) }],
}));
await server.connect(new StdioServerTransport());
