// countersign keys create | list | revoke — manage API keys.
import { Option, type Command } from 'commander';
import { createApiKey } from '../../../server/src/keys/create-api-key.ts';
import { listApiKeys } from '../../../server/src/keys/list-api-keys.ts';
import { revokeApiKey } from '../../../server/src/keys/revoke-api-key.ts';
import { SCOPES, scopeSchema, type Scope } from '../../../server/src/keys/scopes.ts';
import { isAppError } from '../../../server/src/errors.ts';
import { cliActor } from '../cli-actor.ts';
import { CliError } from '../cli-error.ts';
import { withDatabase } from '../database-session.ts';

function parseScopes(values: string[]): Scope[] {
  const scopes = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return scopes.map((scope) => {
    const parsed = scopeSchema.safeParse(scope);
    if (!parsed.success) throw new CliError(`unknown scope "${scope}"; choose from ${SCOPES.join(', ')}`);
    return parsed.data;
  });
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys');

  keys
    .command('create')
    .description('create a client and its API key; prints the key and the callback secrets once')
    .requiredOption('--name <name>', 'who the key is for, e.g. "deploy-pipeline"')
    .addOption(
      new Option('--scopes <scopes...>', `scopes, space- or comma-separated (${SCOPES.join(', ')})`).default([
        'approvals:write',
        'approvals:read',
      ]),
    )
    .option('--json', 'print JSON')
    .action(async (options: { name: string; scopes: string[]; json?: boolean }) => {
      const name = options.name.trim();
      if (!name) throw new CliError('--name must not be empty');
      const scopes = parseScopes(options.scopes);
      const created = await withDatabase((db) =>
        createApiKey(db.prisma, { name, scopes, actor: cliActor() }),
      );
      if (options.json) {
        console.log(JSON.stringify(created, null, 2));
        return;
      }
      console.log(
        `Created API key ${created.id} for "${created.name}" (scopes: ${created.scopes.join(', ')})`,
      );
      console.log('');
      console.log(`  API key:          ${created.key}`);
      console.log(`  Callback secret:  ${created.callbackSecret}`);
      console.log(`  Webhook secret:   ${created.webhookSecret}`);
      console.log('');
      console.log(
        'Store them now: they are not shown again. Verify callbacks with the callback secret\n' +
          '(Countersign-Signature) or with the webhook secret and any Standard Webhooks library.',
      );
    });

  keys
    .command('list')
    .description('list API keys (never the keys themselves)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await withDatabase((db) => listApiKeys(db.prisma));
      if (options.json) {
        console.log(JSON.stringify(list, null, 2));
        return;
      }
      if (list.length === 0) {
        console.log('no API keys; create one with `countersign keys create --name NAME`');
        return;
      }
      for (const key of list) {
        const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
        console.log(`${key.id}  ${key.prefix}…  ${key.name}  [${key.scopes.join(', ')}]  ${state}`);
      }
    });

  keys
    .command('revoke')
    .description('revoke an API key; it stops working at once')
    .argument('<id>', 'the key id shown by `keys list`')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      try {
        const revoked = await withDatabase((db) => revokeApiKey(db.prisma, id, new Date(), cliActor()));
        if (options.json) console.log(JSON.stringify(revoked, null, 2));
        else console.log(revoked.changed ? `revoked ${id}` : `${id} was already revoked`);
      } catch (error) {
        if (isAppError(error) && error.code === 'NOT_FOUND') throw new CliError(error.detail);
        throw error;
      }
    });
}
