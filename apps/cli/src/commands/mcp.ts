// countersign mcp — an MCP server over stdio for AI agents (Claude Desktop, Claude Code, any MCP
// client). It talks to a running Countersign with an API key; who it acts for is its configuration
// (COUNTERSIGN_REQUESTER, COUNTERSIGN_AGENT), never a tool argument.
import type { Command } from 'commander';
import { z } from 'zod';
import packageJson from '../../../../package.json' with { type: 'json' };
import { optionalString } from '../../../server/src/config.ts';
import type { McpIdentity } from '../../../server/src/mcp/approval-tools.ts';
import { createApiClient, resolveConnection } from '../api-client.ts';
import { CliError } from '../cli-error.ts';
import { checkApproved, receiptKeySource } from '../verify-receipt.ts';

const identityEnvSchema = z.object({
  COUNTERSIGN_REQUESTER: optionalString,
  COUNTERSIGN_REQUESTER_NAME: optionalString,
  COUNTERSIGN_AGENT: optionalString,
});

/** The requester and agent from the environment; a missing or bad requester stops start-up. */
export function identityFromEnv(env: NodeJS.ProcessEnv): McpIdentity {
  const parsed = identityEnvSchema.parse(env);
  const email = z.email().max(320).safeParse(parsed.COUNTERSIGN_REQUESTER);
  if (!parsed.COUNTERSIGN_REQUESTER) {
    throw new CliError('set COUNTERSIGN_REQUESTER to the email of the person this agent acts for');
  }
  if (!email.success) throw new CliError('COUNTERSIGN_REQUESTER must be an email address');
  return {
    requester: {
      email: email.data,
      ...(parsed.COUNTERSIGN_REQUESTER_NAME ? { name: parsed.COUNTERSIGN_REQUESTER_NAME } : {}),
    },
    ...(parsed.COUNTERSIGN_AGENT ? { agent: { name: parsed.COUNTERSIGN_AGENT } } : {}),
  };
}

export function registerMcpCommand(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve the MCP tools request_approval, get_approval and cancel_approval over stdio; needs ' +
        'COUNTERSIGN_URL, COUNTERSIGN_API_KEY and COUNTERSIGN_REQUESTER (COUNTERSIGN_AGENT optional)',
    )
    .option('--url <url>', 'server URL (default: COUNTERSIGN_URL)')
    .option('--api-key <key>', 'API key (default: COUNTERSIGN_API_KEY)')
    .option(
      '--receipt-key <file>',
      "saved receipt JWKS an approval's receipt must verify against (default: COUNTERSIGN_RECEIPT_JWKS, else the server's)",
    )
    .action(async (options: { url?: string; apiKey?: string; receiptKey?: string }) => {
      const connection = resolveConnection(options);
      const identity = identityFromEnv(process.env);
      const client = createApiClient({ ...connection, userAgent: `countersign-mcp/${packageJson.version}` });
      // Loaded here, not at start-up: every other command would pay for the MCP SDK otherwise.
      const [{ serveOverStdio }, { createApprovalMcpServer }, { createRestBackend }] = await Promise.all([
        import('../mcp/serve-stdio.ts'),
        import('../../../server/src/mcp/approval-tools.ts'),
        import('../mcp/rest-backend.ts'),
      ]);
      const server = createApprovalMcpServer({
        backend: createRestBackend(client),
        verifyApproved: (approval, context) =>
          checkApproved(approval, receiptKeySource(options.receiptKey, connection.baseUrl), context),
        identity,
        version: packageJson.version,
      });
      await serveOverStdio(server);
    });
}
