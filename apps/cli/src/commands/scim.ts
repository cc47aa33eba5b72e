// countersign scim token create — a bearer token for the identity provider's SCIM client.
import type { Command } from 'commander';
import { createScimToken } from '../../../server/src/directory/scim-tokens.ts';
import { cliActor } from '../cli-actor.ts';
import { CliError } from '../cli-error.ts';
import { withDatabase } from '../database-session.ts';

export function registerScimCommands(program: Command): void {
  const scim = program.command('scim').description("the identity provider's SCIM provisioning (/scim/v2)");
  const token = scim.command('token').description('bearer tokens for SCIM clients');
  token
    .command('create')
    .description('create a token for a SCIM client (Okta, Microsoft Entra); prints it once')
    .requiredOption('--name <name>', 'which client it is for, e.g. "okta"')
    .option('--json', 'print JSON')
    .action(async (options: { name: string; json?: boolean }) => {
      const name = options.name.trim();
      if (!name) throw new CliError('--name must not be empty');
      const created = await withDatabase((db) => createScimToken(db, { name, actor: cliActor() }));
      if (options.json) {
        console.log(JSON.stringify(created, null, 2));
        return;
      }
      console.log(`Created SCIM token ${created.id} for "${created.name}"`);
      console.log('');
      console.log(`  Tenant URL:  <COUNTERSIGN_PUBLIC_URL>/scim/v2`);
      console.log(`  Token:       ${created.token}`);
      console.log('');
      console.log('Store it now in the identity provider: it is not shown again.');
    });
}
