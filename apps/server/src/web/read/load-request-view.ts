// Everything the request page shows: the request and its decisions, its audit events (the
// timeline), its callback deliveries with their attempts, and its chat cards with their state.
import { describeRequesterProof, readRequesterProof } from '../../receipts/requester-proof.ts';
import { isUuid } from '../../approvals/find-request.ts';
import type { Deps } from '../../deps.ts';
import type { DeliveryWithAttempts } from '../../approvals/outbox/list-deliveries.ts';
import { AppError } from '../../errors.ts';
import type { AuditEvent, ChatCard } from '../../generated/prisma/client.ts';
import type { RequestSummary } from './list-waiting-requests.ts';

const CLIENT_ACTOR = 'client:';

export type CardState = 'not posted yet' | 'updating' | 'up to date' | `failed: ${string}`;

export interface RequestView {
  request: RequestSummary;
  /** How the requester was established, in the one wording every door uses. */
  requesterShown: string;
  /** The API key that asked, as `key <name>` (its client's name; keys are created one per client). */
  askedBy: string;
  /** The admins of the client whose key asked; they may see the request (approvals/can-see-request.ts). */
  clientAdmins: string[];
  /** Audit actors as a reader knows them: `client:<id>` becomes `key <name>`. */
  actorNames: ReadonlyMap<string, string>;
  events: AuditEvent[];
  deliveries: DeliveryWithAttempts[];
  cards: (ChatCard & { state: CardState })[];
}

export function cardState(
  card: Pick<ChatCard, 'messageId' | 'version' | 'shownVersion' | 'failedAt' | 'error'>,
): CardState {
  // Same reading as the API's card status (approvals/view/approval.ts), in words.
  if (card.failedAt) return `failed: ${card.error ?? 'refused by the platform'}`;
  if (!card.messageId) return 'not posted yet';
  return card.shownVersion < card.version ? 'updating' : 'up to date';
}

export async function loadRequestView(deps: Pick<Deps, 'db'>, id: string): Promise<RequestView> {
  const prisma = deps.db.prisma;
  const request = isUuid(id)
    ? await prisma.approvalRequest.findUnique({
        where: { id },
        include: { decisions: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } },
      })
    : null;
  if (!request) throw new AppError('NOT_FOUND', { detail: `no approval request with id ${id}` });
  const [events, deliveries, cards] = await Promise.all([
    prisma.auditEvent.findMany({ where: { requestId: id }, orderBy: { seq: 'asc' }, take: 500 }),
    prisma.callbackDelivery.findMany({
      where: { requestId: id },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      include: { attempts: { orderBy: [{ attemptedAt: 'asc' }, { id: 'asc' }] } },
    }),
    prisma.chatCard.findMany({ where: { requestId: id }, orderBy: { id: 'asc' } }),
  ]);
  const clientIds = new Set([request.clientId]);
  for (const event of events) {
    const id = event.actor.startsWith(CLIENT_ACTOR) ? event.actor.slice(CLIENT_ACTOR.length) : '';
    if (isUuid(id)) clientIds.add(id);
  }
  const clients = await prisma.client.findMany({
    where: { id: { in: [...clientIds] } },
    select: { id: true, name: true, admins: true },
  });
  const actorNames = new Map(clients.map((c) => [`${CLIENT_ACTOR}${c.id}`, `key ${c.name}`]));
  return {
    request,
    requesterShown: describeRequesterProof(readRequesterProof(request.requesterProof)),
    askedBy: actorNames.get(`${CLIENT_ACTOR}${request.clientId}`) ?? `${CLIENT_ACTOR}${request.clientId}`,
    clientAdmins: clients.find((c) => c.id === request.clientId)?.admins ?? [],
    actorNames,
    events,
    deliveries,
    cards: cards.map((card) => ({ ...card, state: cardState(card) })),
  };
}
