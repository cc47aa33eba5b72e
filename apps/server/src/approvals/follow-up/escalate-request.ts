// The rule's escalation, when its time comes and the request still waits: the escalation approvers
// join those who may decide (a signed request.escalated event, which eligibility reads from the
// chain like the rest of the deciding rules, so the requester and the agent's owner stay refused),
// a card goes to the escalation channel, and the request's cards are brought up to date to say so.
// Under the request's row lock: a verdict and an escalation never cross.
import type { Deps } from '../../deps.ts';
import { appendAuditEventsAndCommit } from '../../audit/append-event.ts';
import { readRequestChain } from '../../audit/request-chain.ts';
import { inTransaction } from '../../db/transaction.ts';
import { addCard, refreshCards } from '../outbox/card-outbox.ts';
import { lockRequestForEscalation } from '../store/request-store.ts';

export type EscalationOutcome = 'escalated' | 'not_pending' | 'already_escalated' | 'no_escalation';

export async function escalateRequest(deps: Deps, requestId: string): Promise<EscalationOutcome> {
  return inTransaction(deps.db, async (tx): Promise<EscalationOutcome> => {
    const now = deps.clock.now();
    const row = await lockRequestForEscalation(tx, requestId);
    if (!row || row.status !== 'pending' || row.expires_at.getTime() <= now.getTime()) return 'not_pending';
    const chain = await readRequestChain(tx, requestId);
    if (!chain.found) throw new Error(chain.reason);
    if (chain.chain.escalations.length > 0) return 'already_escalated';
    const plan = chain.chain.created.payload.followUp?.escalate;
    if (!plan) return 'no_escalation';
    if (plan.channel !== null && !row.channels.includes(plan.channel))
      await addCard(tx, deps, requestId, plan.channel);
    await refreshCards(tx, deps, requestId);
    await appendAuditEventsAndCommit(
      tx,
      [
        {
          type: 'request.escalated',
          requestId,
          actor: 'countersign',
          payload: { approvers: plan.approvers, channel: plan.channel, afterSeconds: plan.afterSeconds },
        },
      ],
      now,
      deps.events,
    );
    return 'escalated';
  });
}
