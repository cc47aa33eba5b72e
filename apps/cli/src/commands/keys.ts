// countersign keys create | list | revoke | admins — manage API keys and who administers them.
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { createApiKey } from '../../../server/src/keys/create-api-key.ts';
import { listApiKeys } from '../../../server/src/keys/list-api-keys.ts';
import { revokeApiKey } from '../../../server/src/keys/revoke-api-key.ts';
import { changeKeyAdmins, type KeyAdminsChange } from '../../../server/src/keys/change-key-admins.ts';
import { normaliseAdminEmails } from '../../../server/src/keys/key-admins.ts';
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

const requesterEmail = z.email();
const actionGlob = z.string().regex(/^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*$/);

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--requester` values: emails, each checked, lower-cased. */
function parseRequesters(values: string[]): string[] {
  return values.map((value) => {
    const email = value.trim();
    if (!requesterEmail.safeParse(email).success)
      throw new CliError(`--requester "${value}" is not an email`);
    return email.toLowerCase();
  });
}

/** Admin emails, each checked, lower-cased; `what` names them in the error (`--admin`, `EMAIL`). */
function parseAdmins(values: string[], what: string): string[] {
  for (const value of values) {
    try {
      normaliseAdminEmails([value]);
    } catch {
      throw new CliError(`${what} "${value}" is not an email`);
    }
  }
  return normaliseAdminEmails(values);
}

/** `--actions` values: dotted action globs, space- or comma-separated. */
function parseActions(values: string[]): string[] {
  const globs = values
    .flatMap((v) => v.split(/[\s,]+/))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const glob of globs) {
    if (!actionGlob.safeParse(glob).success) {
      throw new CliError(`--actions "${glob}" is not a dotted action name ("*" matches any characters)`);
    }
  }
  return globs;
}

/** How `keys list` and `keys create` show a key's bindings. */
function describeBindings(key: { requesters: string[]; actions: string[] }): string {
  const requesters =
    key.requesters.length > 0 ? `requesters: ${key.requesters.join(', ')}` : 'requester: claimed';
  const actions = key.actions.length > 0 ? `actions: ${key.actions.join(', ')}` : 'actions: any';
  return `${requesters}; ${actions}`;
}

/** How `keys list`, `keys create` and `keys admins` show a key's admins. */
function describeAdmins(admins: string[]): string {
  return admins.length > 0 ? `admins: ${admins.join(', ')}` : 'admins: none';
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
    .option(
      '--requester <email>',
      'bind the key to this requester (repeat for several); requests naming anyone else are refused',
      collect,
      [],
    )
    .option(
      '--actions <globs...>',
      'limit the key to these action globs, e.g. "deploy.*" (space- or comma-separated)',
    )
    .option(
      '--admin <email>',
      "someone who administers the key (repeat for several); they see the key's requests in the console",
      collect,
      [],
    )
    .option('--json', 'print JSON')
    .action(
      async (options: {
        name: string;
        scopes: string[];
        requester: string[];
        actions?: string[];
        admin: string[];
        json?: boolean;
      }) => {
        const name = options.name.trim();
        if (!name) throw new CliError('--name must not be empty');
        const scopes = parseScopes(options.scopes);
        const requesters = parseRequesters(options.requester);
        const actions = parseActions(options.actions ?? []);
        const admins = parseAdmins(options.admin, '--admin');
        const created = await withDatabase((db) =>
          createApiKey(db, { name, scopes, requesters, actions, admins, actor: cliActor() }),
        );
        if (options.json) {
          console.log(JSON.stringify(created, null, 2));
          return;
        }
        console.log(
          `Created API key ${created.id} for "${created.name}" (scopes: ${created.scopes.join(', ')}; ${describeBindings(created)}; ${describeAdmins(created.admins)})`,
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
      },
    );

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
        console.log(
          `${key.id}  ${key.prefix}…  ${key.name}  [${key.scopes.join(', ')}]  ${describeBindings(key)}  ${describeAdmins(key.admins)}  ${state}`,
        );
      }
    });

  keys
    .command('revoke')
    .description('revoke an API key; it stops working at once')
    .argument('<id>', 'the key id shown by `keys list`')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      try {
        const revoked = await withDatabase((db) => revokeApiKey(db, id, new Date(), cliActor()));
        if (options.json) console.log(JSON.stringify(revoked, null, 2));
        else console.log(revoked.changed ? `revoked ${id}` : `${id} was already revoked`);
      } catch (error) {
        if (isAppError(error) && error.code === 'NOT_FOUND') throw new CliError(error.detail);
        throw error;
      }
    });

  const admins = keys
    .command('admins')
    .description("set who administers a key: they see the key's requests in the console");
  const verbs: { verb: 'set' | 'add' | 'remove'; description: string }[] = [
    { verb: 'set', description: 'replace the admins of a key with these people (none: no admins)' },
    { verb: 'add', description: 'add people to the admins of a key' },
    { verb: 'remove', description: 'remove people from the admins of a key' },
  ];
  for (const { verb, description } of verbs) {
    admins
      .command(verb)
      .description(description)
      .argument('<id>', 'the key id shown by `keys list`')
      .argument(verb === 'set' ? '[emails...]' : '<emails...>', 'the people, by email')
      .option('--json', 'print JSON')
      .action(async (id: string, emails: string[], options: { json?: boolean }) => {
        const people = parseAdmins(emails, 'EMAIL');
        const change: KeyAdminsChange =
          verb === 'set' ? { set: people } : verb === 'add' ? { add: people } : { remove: people };
        try {
          const changed = await withDatabase((db) =>
            changeKeyAdmins(db, { keyId: id, change, actor: cliActor() }),
          );
          if (options.json) console.log(JSON.stringify(changed, null, 2));
          else
            console.log(
              `${changed.changed ? 'changed' : 'unchanged'} ${id}: ${describeAdmins(changed.admins)}`,
            );
        } catch (error) {
          if (isAppError(error) && error.code === 'NOT_FOUND') throw new CliError(error.detail);
          throw error;
        }
      });
  }
}
