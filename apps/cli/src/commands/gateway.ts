// countersign gateway check FILE — validate a gateway file and resolve its secrets (never shown).
import type { Command } from 'commander';
import {
  GatewayFileError,
  loadGatewayFile,
  systemSecretReader,
} from '../../../server/src/gateway/load-gateway-file.ts';
import { CliError } from '../cli-error.ts';

export function registerGatewayCommands(program: Command): void {
  const gateway = program
    .command('gateway')
    .description('an MCP gateway that holds downstream tool calls for approval');

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
