// countersign: the command line. Each command lives in its own file under commands/.
import { Command, CommanderError } from 'commander';
import packageJson from '../../../package.json' with { type: 'json' };
import { ConfigError } from '../../server/src/config-error.ts';
import { CliError } from './cli-error.ts';
import { applyDataDirOption } from './data-dir-option.ts';
import { invokedCommand } from '../bin/invoked-command.js';

type Register = (program: Command) => void;

/**
 * The commands in help order, each loaded only when run: a client command (`request`, `hook`)
 * never loads the server, Prisma, Bolt or botbuilder, so it starts at once.
 */
const COMMANDS: [name: string, load: () => Promise<Register>][] = [
  ['serve', async () => (await import('./commands/serve.ts')).registerServeCommand],
  ['migrate', async () => (await import('./commands/migrate.ts')).registerMigrateCommand],
  ['keys', async () => (await import('./commands/keys.ts')).registerKeysCommands],
  ['grants', async () => (await import('./commands/grants.ts')).registerGrantsCommands],
  ['scim', async () => (await import('./commands/scim.ts')).registerScimCommands],
  ['policy', async () => (await import('./commands/policy.ts')).registerPolicyCommands],
  ['audit', async () => (await import('./commands/audit.ts')).registerAuditCommands],
  ['request', async () => (await import('./commands/request.ts')).registerRequestCommand],
  ['delegates', async () => (await import('./commands/delegates.ts')).registerDelegatesCommands],
  ['teams', async () => (await import('./commands/teams-package.ts')).registerTeamsCommands],
  ['mcp', async () => (await import('./commands/mcp.ts')).registerMcpCommand],
  ['hook', async () => (await import('./commands/hook.ts')).registerHookCommands],
  ['gateway', async () => (await import('./commands/gateway.ts')).registerGatewayCommands],
];

const program = new Command()
  .name('countersign')
  .description('Approval service for privileged actions')
  .version(packageJson.version)
  .option(
    '--data-dir <dir>',
    "the embedded database's data directory (as COUNTERSIGN_DATA_DIR; default .countersign); only `serve` creates one",
  )
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', (command) => applyDataDirOption(command.opts<{ dataDir?: string }>().dataDir));

const args = process.argv.slice(2);
const named = COMMANDS.find(([name]) => name === invokedCommand(args));
const versionOnly = args.length === 1 && (args[0] === '--version' || args[0] === '-V');
// One command when one is named; all of them for help and for an unknown name (its suggestions).
const toLoad = named ? [named] : versionOnly ? [] : COMMANDS;
for (const register of await Promise.all(toLoad.map(([, load]) => load()))) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander's own exit 1 (unknown option, bad choice) is a bad option: 2, as docs/pipelines/cli.md says;
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
