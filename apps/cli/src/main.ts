// countersign: the command line. Each command lives in its own file under commands/.
import { Command, CommanderError } from 'commander';
import packageJson from '../../../package.json' with { type: 'json' };
import { ConfigError } from '../../server/src/config.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerGatewayCommands } from './commands/gateway.ts';
import { registerHookCommands } from './commands/hook.ts';
import { registerKeysCommands } from './commands/keys.ts';
import { registerMcpCommand } from './commands/mcp.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerRequestCommand } from './commands/request.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerTeamsCommands } from './commands/teams-package.ts';
import { CliError } from './cli-error.ts';

const program = new Command()
  .name('countersign')
  .description('Approval service for privileged actions')
  .version(packageJson.version)
  .showHelpAfterError()
  .exitOverride();

registerServeCommand(program);
registerMigrateCommand(program);
registerKeysCommands(program);
registerPolicyCommands(program);
registerAuditCommands(program);
registerRequestCommand(program);
registerTeamsCommands(program);
registerMcpCommand(program);
registerHookCommands(program);
registerGatewayCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander's own exit 1 (unknown option, bad choice) is a bad option: 2, as the README says;
    // 1 means "chain not intact". `request` maps its own to 3 before it gets here.
    process.exitCode = error.exitCode === 1 ? 2 : error.exitCode;
  } else if (error instanceof ConfigError || error instanceof CliError) {
    console.error(`countersign: ${error.message}`);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  } else {
    console.error('countersign:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
