// countersign gateway --config FILE — an MCP server over stdio in front of the downstream servers
// of a gateway file, holding calls for approval on a running Countersign (COUNTERSIGN_URL, an API
// key; who the calls are for is COUNTERSIGN_REQUESTER / COUNTERSIGN_AGENT, never a tool argument).
// countersign gateway check FILE — validate a gateway file and resolve its secrets (never shown).
import { Option, type Command } from 'commander';
import packageJson from '../../../../package.json' with { type: 'json' };
import { createApiClient, resolveConnection } from '../api-client.ts';
import { identityFromEnv } from './mcp.ts';
import {
  GatewayFileError,
  loadGatewayFile,
  systemSecretReader,
} from '../../../server/src/gateway/load-gateway-file.ts';
import { CliError } from '../cli-error.ts';

export function registerGatewayCommands(program: Command): void {
  const gateway = program
    .command('gateway')
    .description(
      'serve the tools of the MCP servers in a gateway file over stdio, holding calls for approval; needs ' +
        'COUNTERSIGN_URL, COUNTERSIGN_API_KEY and COUNTERSIGN_REQUESTER (COUNTERSIGN_AGENT optional)',
    )
    .addOption(new Option('--config <file>', 'the gateway file').env('COUNTERSIGN_GATEWAY'))
    .option('--pins <file>', 'where tool definitions are pinned (default: the gateway file + ".pins.json")')
    .option('--url <url>', 'server URL (default: COUNTERSIGN_URL)')
    .option('--api-key <key>', 'API key (default: COUNTERSIGN_API_KEY)')
    .option(
      '--pending-after <seconds>',
      'answer a held call without progress token as pending after this long',
      '20',
    )
    .action(
      async (options: {
        config?: string;
        pins?: string;
        url?: string;
        apiKey?: string;
        pendingAfter: string;
      }) => {
        if (!options.config)
          throw new CliError('name the gateway file: --config FILE or COUNTERSIGN_GATEWAY', 2);
        const connection = resolveConnection(options);
        const identity = identityFromEnv(process.env);
        const pendingAfterSeconds = Number(options.pendingAfter);
        if (!Number.isInteger(pendingAfterSeconds) || pendingAfterSeconds < 1 || pendingAfterSeconds > 3600) {
          throw new CliError('--pending-after must be a whole number of seconds from 1 to 3600', 2);
        }
        let config;
        try {
          config = await loadGatewayFile(options.config, systemSecretReader(process.env));
        } catch (error) {
          if (error instanceof GatewayFileError) throw new CliError(error.message);
          throw error;
        }
        const client = createApiClient({
          ...connection,
          userAgent: `countersign-gateway/${packageJson.version}`,
        });
        // Loaded here, not at start-up: every other command would pay for the MCP SDK otherwise.
        const [
          { serveOverStdio },
          { createGatewayServer },
          { DownstreamServers },
          { createRestGatewayBackend },
          { fileToolPins },
        ] = await Promise.all([
          import('../mcp/serve-stdio.ts'),
          import('../../../server/src/gateway/gateway-server.ts'),
          import('../../../server/src/gateway/downstream-servers.ts'),
          import('../gateway/rest-gateway-backend.ts'),
          import('../../../server/src/gateway/tool-pins.ts'),
        ]);
        const downstream = new DownstreamServers(config.servers, {
          version: packageJson.version,
          secretValues: config.secretValues,
          sampling: config.file.sampling,
          elicitation: config.file.elicitation,
          onPeerRequest: (server, line) => process.stderr.write(`countersign gateway: ${server}: ${line}\n`),
        });
        await downstream.connectAll();
        for (const health of downstream.health()) {
          if (!health.healthy) {
            process.stderr.write(
              `countersign gateway: ${health.server} is unavailable: ${health.error ?? ''}\n`,
            );
          }
        }
        const server = createGatewayServer({
          config,
          downstream,
          backend: createRestGatewayBackend(client),
          identity,
          version: packageJson.version,
          pendingAfterSeconds,
          pins: fileToolPins(options.pins ?? `${options.config}.pins.json`),
        });
        await serveOverStdio(server);
        await downstream.close();
      },
    );

  gateway
    .command('check')
    .description('validate a gateway file and check that every secret it names can be read')
    .argument('<file>', 'the gateway file (YAML)')
    .action(async (file: string) => {
      try {
        const config = await loadGatewayFile(file, systemSecretReader(process.env));
        console.log(`${file}: valid, ${config.servers.length} server(s):`);
        for (const server of config.servers) {
          const where =
            server.kind === 'stdio' ? `${server.command} ${server.args.join(' ')}`.trim() : server.url;
          const secrets = config.secretsByServer[server.name] ?? [];
          console.log(
            `  ${server.name} (${server.kind}): ${where}` +
              (secrets.length > 0 ? `; secrets: ${secrets.join(', ')}` : ''),
          );
        }
        console.log(`  tools: ${config.file.tools.length} rule(s), default ${config.file.default}`);
      } catch (error) {
        if (error instanceof GatewayFileError) throw new CliError(error.message);
        throw error;
      }
    });
}
