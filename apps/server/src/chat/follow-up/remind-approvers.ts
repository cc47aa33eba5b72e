// One reminder step: a reply under each of the request's cards that mentions the eligible
// approvers who have not decided. Nothing after the verdict, nothing to someone who decided, and
// each step once: the step's request.reminded event is looked for under a lock of its own, and the
// reply and the event commit together (a crash between the post and the commit is the one case
// that posts the step again when the job is retried).
import type { Deps } from '../../deps.ts';
import { appendAuditEventsAndCommit } from '../../audit/append-event.ts';
import { approversToReach } from '../../approvals/approvers-to-reach.ts';
import { readRequestChain } from '../../audit/request-chain.ts';
import { decidingRulesOf } from '../../approvals/decider-eligibility.ts';
import { inTransaction } from '../../db/transaction.ts';
import { parseChannel } from '../../approvals/channels.ts';
import type { ChatNotifier } from './chat-notifier.ts';
import { listRequestCards, lockFollowUp, readReminderRequest, wasRemindedFrom } from './follow-up-store.ts';

export class CardNotPostedYet extends Error {
  override name = 'CardNotPostedYet';
}

export type ReminderOutcome = 'reminded' | 'already_reminded' | 'not_pending' | 'no_card';

export async function remindApprovers(
  deps: Pick<Deps, 'db' | 'clock' | 'events' | 'log'>,
  notifiers: ReadonlyMap<string, ChatNotifier>,
  requestId: string,
  step: number,
): Promise<ReminderOutcome> {
  return inTransaction(deps.db, async (tx): Promise<ReminderOutcome> => {
    await lockFollowUp(tx, `${requestId}:remind:${step}`);
    // This step, or a later one that ran first (this one was retried while its card was on its
    // way): the approvers have been reminded, and an older reminder after a newer one says nothing.
    if (await wasRemindedFrom(tx, requestId, step)) return 'already_reminded';
    const now = deps.clock.now();
    const row = await readReminderRequest(tx, requestId);
    if (!row || row.status !== 'pending' || row.expires_at.getTime() <= now.getTime()) return 'not_pending';
    const chain = await readRequestChain(tx, requestId);
    if (!chain.found) throw new Error(chain.reason);
    const rules = decidingRulesOf(chain.chain, row.agent_owner);
    const decided = new Set(chain.chain.decisions.map((d) => d.approver));
    const waitingOn = await approversToReach(tx, rules, decided, now);
    const cards = await listRequestCards(tx, requestId);
    const reachable = cards.filter((card) => notifiers.has(parseChannel(card.channel)?.platform ?? ''));
    // A card still on its way: the job is retried shortly rather than the step skipped.
    if (reachable.some((card) => card.message_id === null && card.failed_at === null))
      throw new CardNotPostedYet(`a card of request ${requestId} is not posted yet`);
    const posted = reachable.filter((card) => card.message_id !== null);
    if (posted.length === 0) return 'no_card';
    const text = `⏰ Reminder: this request still waits for your decision (expires ${row.expires_at.toISOString()}).`;
    const channels: { channel: string; mentioned: string[] }[] = [];
    const unresolved = new Set<string>();
    for (const card of posted) {
      const parsed = parseChannel(card.channel);
      const notifier = parsed ? notifiers.get(parsed.platform) : undefined;
      if (!parsed || !notifier || card.message_id === null) continue;
      const sent = await notifier.replyInThread(parsed.id, card.message_id, { text, mention: waitingOn });
      channels.push({ channel: card.channel, mentioned: sent.mentioned });
      for (const email of sent.unresolved) unresolved.add(email);
    }
    if (unresolved.size > 0)
      deps.log.warn(
        { requestId, step, unresolved: unresolved.size },
        'reminder: approvers the chat platform does not know by email were skipped',
      );
    await appendAuditEventsAndCommit(
      tx,
      [
        {
          type: 'request.reminded',
          requestId,
          actor: 'countersign',
          payload: { step, channels, unresolved: [...unresolved] },
        },
      ],
      now,
      deps.events,
    );
    return 'reminded';
  });
}
