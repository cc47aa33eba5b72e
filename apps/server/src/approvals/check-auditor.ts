// Who may run the compliance report from a door a person uses (Slack, Teams, the web console):
// the policy group `auditors`. Anyone else is refused, and the attempt is a `report.refused` audit
// event written before the door answers, whichever door it came through.
import { isAuditor } from './can-see-request.ts';
import type { Deps } from '../deps.ts';
import { appendAuditEvent } from '../audit/append-event.ts';
import type { ReportOrigin } from '../audit/event-types.ts';
import { inTransaction } from '../db/transaction.ts';

export const AUDITORS_GROUP = 'auditors';

export type ReportRefusal = 'not_auditor' | 'identity_unresolved';

export type AuditorCheck = { allowed: true; email: string } | { allowed: false; reason: ReportRefusal };

/** Who the audit trail names: the console marks its user `web:`; chat names the platform user without an email. */
function actorOf(email: string | null, origin: ReportOrigin): string {
  if (origin.platform === 'web') return `web:${email ?? 'unknown'}`;
  return email ?? `${origin.platform}:${origin.userId}`;
}

/**
 * Whether the person asking is an auditor. `email` is theirs as the door resolved it (lower-cased;
 * null when the platform gave none); `text` is what they asked, as typed or requested.
 */
export async function checkAuditor(
  deps: Pick<Deps, 'db' | 'policy' | 'clock' | 'log'>,
  input: { email: string | null; origin: ReportOrigin; text: string },
): Promise<AuditorCheck> {
  const { email, origin } = input;
  if (email && isAuditor(deps.policy, email)) return { allowed: true, email };
  const reason: ReportRefusal = email ? 'not_auditor' : 'identity_unresolved';
  const now = deps.clock.now();
  await inTransaction(deps.db, (tx) =>
    appendAuditEvent(
      tx,
      {
        type: 'report.refused',
        actor: actorOf(email, origin),
        payload: { reason, origin, text: input.text },
      },
      now,
    ),
  );
  deps.log.info({ ...origin, reason }, 'report refused');
  return { allowed: false, reason };
}
