// The requester's notice at the verdict: the outcome, who decided, the reason and the console
// link, by direct message on the first platform that can reach them (the request's own first),
// else as a reply under the request's card that mentions them. Once per request (its
// requester.notified event, under a lock of its own); never when the rule says notifyRequester: false.
import type { Deps } from '../../deps.ts';
import { appendAuditEventsAndCommit } from '../../audit/append-event.ts';
import type { AuditEventInput } from '../../audit/event-types.ts';
import { z } from 'zod';
import { requestChainFromColumns } from '../../audit/request-chain.ts';
import { inTransaction, type Transaction } from '../../db/transaction.ts';
import { consoleRequestUrl } from '../card-view.ts';
import { parseChannel } from '../../approvals/channels.ts';
import type { ChatNotifier } from './chat-notifier.ts';
import { listPostedCards, lockAndReadRequesterNotice } from './follow-up-store.ts';

type Status = 'approved' | 'denied' | 'expired' | 'cancelled';
type Notified = Extract<AuditEventInput, { type: 'requester.notified' }>['payload'];

interface VerdictFacts {
  status: Status;
  action: string;
  title: string | null;
  deciders: string[];
  reason: string | null;
}

export function requesterNoticeText(facts: VerdictFacts, consoleUrl: string | null): string {
  const subject = facts.title ? `"${facts.title}" (${facts.action})` : facts.action;
  const by = facts.deciders.length > 0 ? ` by ${facts.deciders.join(', ')}` : '';
  const lines = [
    facts.status === 'approved'
      ? `✅ Your request ${subject} was approved${by}.`
      : facts.status === 'denied'
        ? `⛔ Your request ${subject} was denied${by}.`
        : facts.status === 'expired'
          ? `⌛ Your request ${subject} expired before enough approvers decided.`
          : `🚫 Your request ${subject} was cancelled.`,
  ];
  if (facts.reason) lines.push(`Reason: ${facts.reason}`);
  if (consoleUrl) lines.push(consoleUrl);
  return lines.join('\n');
}

const noticeColumns = z.object({
  notified: z.boolean(),
  status: z.string().nullable(),
  action: z.string().nullable(),
  title: z.string().nullable(),
  channels: z.array(z.string()),
});

export async function notifyRequester(
  deps: Pick<Deps, 'db' | 'clock' | 'events' | 'log'> & { publicUrl?: string | undefined },
  notifiers: ReadonlyMap<string, ChatNotifier>,
  requestId: string,
): Promise<Notified['via'] | 'already_notified' | 'not_wanted' | 'no_platform'> {
  // No platform with a notifier configured: nothing to try, so nothing is recorded.
  if (notifiers.size === 0) return Promise.resolve('no_platform');
  return inTransaction(deps.db, async (tx) => {
    // The notice's lock, then whether it was done, the row and the chain record: one round trip.
    const read = await lockAndReadRequesterNotice(tx, requestId);
    const columns = noticeColumns.parse(read);
    if (columns.notified) return 'already_notified';
    const { status: rowStatus, action, title, channels } = columns;
    const row =
      rowStatus !== null && action !== null ? { status: rowStatus, action, title, channels } : undefined;
    const chain = requestChainFromColumns(requestId, read);
    if (!chain.found) throw new Error(chain.reason);
    if (!row || row.status === 'pending') return 'not_wanted';
    if (chain.chain.created.payload.followUp?.notifyRequester === false) return 'not_wanted';
    const status = row.status as Status;
    const verdict = status === 'approved' ? 'approve' : status === 'denied' ? 'deny' : null;
    const deciding = chain.chain.decisions.filter((d) => d.verdict === verdict);
    const text = requesterNoticeText(
      {
        status,
        action: row.action,
        title: row.title,
        deciders: deciding.map((d) => d.approver),
        reason: deciding.find((d) => d.reason)?.reason ?? null,
      },
      deps.publicUrl ? consoleRequestUrl(deps.publicUrl, requestId) : null,
    );
    const requester = chain.chain.created.payload.requester;
    const notified = await deliver(tx, notifiers, { requestId, requester, text, channels: row.channels });
    if (notified.via === 'none')
      deps.log.warn({ requestId, detail: notified.detail }, 'the requester could not be told the verdict');
    await appendAuditEventsAndCommit(
      tx,
      [
        {
          type: 'requester.notified',
          requestId,
          actor: 'countersign',
          payload: { status, ...notified },
        },
      ],
      deps.clock.now(),
      deps.events,
    );
    return notified.via;
  });
}

async function deliver(
  tx: Transaction,
  notifiers: ReadonlyMap<string, ChatNotifier>,
  notice: { requestId: string; requester: string; text: string; channels: string[] },
): Promise<Omit<Notified, 'status'>> {
  const own = notice.channels.map((c) => parseChannel(c)?.platform).filter((p) => p !== undefined);
  const order = [...new Set([...own, ...notifiers.keys()])];
  for (const platform of order) {
    const notifier = notifiers.get(platform);
    if (!notifier) continue;
    if ((await notifier.directMessage(notice.requester, notice.text)) === 'sent')
      return { via: 'direct_message', platform, detail: null };
  }
  // No personal conversation anywhere: a mention under the request's first posted card.
  const cards = await listPostedCards(tx, notice.requestId);
  for (const card of cards) {
    const parsed = parseChannel(card.channel);
    const notifier = parsed ? notifiers.get(parsed.platform) : undefined;
    if (!parsed || !notifier) continue;
    const sent = await notifier.replyInThread(parsed.id, card.message_id, {
      text: notice.text,
      mention: [notice.requester],
    });
    return {
      via: 'card_thread',
      platform: parsed.platform,
      detail: sent.mentioned.length > 0 ? null : 'the requester could not be mentioned',
    };
  }
  return {
    via: 'none',
    platform: null,
    detail: 'no chat platform knows the requester, and the request has no posted card',
  };
}
