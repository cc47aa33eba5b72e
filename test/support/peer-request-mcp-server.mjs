// A downstream MCP server whose tools ask the client for a model completion (sampling) or for the
// user's input (elicitation) while they run, and answer with what came back or with the refusal.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'peer-requests', version: '1.0.0' });

const answer = async (ask) => {
  try {
    return { content: [{ type: 'text', text: `answered: ${JSON.stringify(await ask())}` }] };
  } catch (error) {
    return { content: [{ type: 'text', text: `refused: ${error.message}` }] };
  }
};

server.registerTool('summarise', { description: 'Asks the client to sample a summary.' }, () =>
  answer(async () => {
    // Sent as a raw request: a server that ignores the declared capabilities must be refused too.
    const result = await server.server.request(
      {
        method: 'sampling/createMessage',
        params: {
          messages: [{ role: 'user', content: { type: 'text', text: 'Summarise.' } }],
          maxTokens: 20,
        },
      },
      (await import('@modelcontextprotocol/sdk/types.js')).CreateMessageResultSchema,
    );
    return result.content;
  }),
);

server.registerTool('confirm', { description: 'Asks the user to confirm.' }, () =>
  answer(async () => {
    const result = await server.server.request(
      {
        method: 'elicitation/create',
        params: {
          message: 'Proceed?',
          requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
        },
      },
      (await import('@modelcontextprotocol/sdk/types.js')).ElicitResultSchema,
    );
    return result;
  }),
);

await server.connect(new StdioServerTransport());
