// countersign delegates add | list | remove — an approver's stand-in while they are away, through
// the server's /v1/delegations (an API key with scope admin): the server schedules the expiry.
import type { Command } from 'commander';
import { createApiClient, resolveConnection, type DelegationView } from '../api-client.ts';

interface ConnectionOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

function client(options: ConnectionOptions) {
  return createApiClient(resolveConnection({ url: options.url, apiKey: options.apiKey }));
}

function describe(d: DelegationView): string {
  const state = d.removedAt ? `removed ${d.removedAt}` : `until ${d.until}`;
  return `${d.id}  ${d.to} for ${d.from}  ${state}${d.reason ? `  (${d.reason})` : ''}`;
}

function withConnection(command: Command): Command {
  return command
    .option('--json', 'print JSON')
    .option('--url <url>', 'server URL (default: COUNTERSIGN_URL)')
    .option('--api-key <key>', 'API key with scope admin (default: COUNTERSIGN_API_KEY)');
}

export function registerDelegatesCommands(program: Command): void {
  const delegates = program
    .command('delegates')
    .description("let someone decide in an approver's place while they are away");

  withConnection(
    delegates
      .command('add')
      .description('while active, --to may decide wherever --from is eligible ("carol for bob")')
      .requiredOption('--from <email>', 'the approver who is away')
      .requiredOption('--to <email>', 'who decides in their place')
      .requiredOption('--until <date>', 'a date (through that day, UTC) or an ISO instant')
      .option('--reason <reason>', 'why, for the audit trail'),
  ).action(
    async (options: ConnectionOptions & { from: string; to: string; until: string; reason?: string }) => {
      const created = await client(options).addDelegation({
        from: options.from,
        to: options.to,
        until: options.until,
        ...(options.reason !== undefined ? { reason: options.reason } : {}),
      });
      console.log(options.json ? JSON.stringify(created, null, 2) : describe(created));
    },
  );

  withConnection(
    delegates
      .command('list')
      .description('active delegations (with --ended: all of them)')
      .option('--email <email>', 'only those from or to this person')
      .option('--ended', 'include removed and expired delegations'),
  ).action(async (options: ConnectionOptions & { email?: string; ended?: boolean }) => {
    const items = await client(options).listDelegations({
      ...(options.email !== undefined ? { email: options.email } : {}),
      ...(options.ended ? { ended: true } : {}),
    });
    if (options.json) console.log(JSON.stringify(items, null, 2));
    else if (items.length === 0) console.log('no delegations');
    else for (const d of items) console.log(describe(d));
  });

  withConnection(delegates.command('remove <id>').description('end a delegation now')).action(
    async (id: string, options: ConnectionOptions) => {
      const removed = await client(options).removeDelegation(id);
      console.log(options.json ? JSON.stringify(removed, null, 2) : `removed ${removed.id}`);
    },
  );
}
