// countersign grants list | revoke — the time-bound grants approvers opened (a rule's
// grant: { upTo }), and closing one before it expires. On the server's database, like `keys`.
import type { Command } from 'commander';
import { listGrants, revokeGrant, type GrantView } from '../../../server/src/approvals/grants.ts';
import { systemClock } from '../../../server/src/deps.ts';
import { isAppError } from '../../../server/src/errors.ts';
import { cliActor } from '../cli-actor.ts';
import { CliError } from '../cli-error.ts';
import { withDatabase } from '../database-session.ts';

function line(grant: GrantView): string {
  const agent = grant.agent ? ` agent ${grant.agent}` : '';
  const until =
    grant.status === 'revoked'
      ? `revoked ${grant.revokedAt ?? ''} by ${grant.revokedBy ?? '?'}`
      : `${grant.status === 'open' ? 'open until' : 'expired'} ${grant.expiresAt}`;
  return (
    `${grant.id}  ${grant.action}  ${grant.requester}${agent}  ${grant.minutes} min  ${until}  ` +
    `uses ${grant.uses}  by ${grant.approvers.join(', ')}  (request ${grant.requestId})`
  );
}

export function registerGrantsCommands(program: Command): void {
  const grants = program
    .command('grants')
    .description('time-bound grants: an action approved for a requester and agent for N minutes');

  grants
    .command('list')
    .description('list grants, newest first')
    .option('--open', 'only grants open now')
    .option('--requester <email>', 'only this requester')
    .option('--action <action>', 'only this action')
    .option('--json', 'print JSON')
    .action(async (options: { open?: boolean; requester?: string; action?: string; json?: boolean }) => {
      const list = await withDatabase((db) =>
        listGrants(
          { db, clock: systemClock },
          { open: options.open, requester: options.requester, action: options.action },
        ),
      );
      if (options.json) console.log(JSON.stringify(list, null, 2));
      else if (list.length === 0) console.log('no grants');
      else for (const grant of list) console.log(line(grant));
    });

  grants
    .command('revoke')
    .description('close a grant now: later requests are put to people again')
    .argument('<id>', 'the grant id')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      try {
        const result = await withDatabase((db) => revokeGrant({ db, clock: systemClock }, id, cliActor()));
        if (options.json) console.log(JSON.stringify(result, null, 2));
        else console.log(result.revoked ? `revoked ${id}` : `${id} was not open (${result.grant.status})`);
      } catch (error) {
        if (isAppError(error) && error.code === 'NOT_FOUND') throw new CliError(error.detail ?? 'not found');
        throw error;
      }
    });
}
