// The Teams side of the card flush loop: Adaptive Cards posted and updated through the stored
// conversation reference, and Teams' errors classified. Teams offers a bot no way to search a
// channel's messages, so a card whose post may have reached Teams just before a crash cannot be
// found again (findPosted answers null): the window is the time between the connector's answer
// and the commit that stores the activity id.
import type { ChatTransport } from '../flush-channel.ts';
import type { CardView } from '../card-view.ts';
import { renderTeamsCard } from './cards.ts';
import { classifyTeamsError } from './classify-teams-error.ts';
import type { TeamsCardTransport } from './create-teams-card-transport.ts';
import type { RefreshAudience } from './refresh-audience.ts';

/** The message everyone sees: the status card, refreshing to Approve/Deny for the approvers. */
export function createTeamsChatTransport(
  cards: TeamsCardTransport,
  audienceOf: (requestId: string) => Promise<RefreshAudience>,
): ChatTransport {
  async function shared(view: CardView) {
    if (!view.showButtons) return renderTeamsCard(view);
    return renderTeamsCard(view, { audience: await audienceOf(view.requestId), viewer: 'shared' });
  }
  return {
    platform: 'teams',
    methodNames: { post: 'sendToConversation', update: 'updateActivity', findPosted: null },
    post: async (conversationId, view) => cards.postCard(conversationId, await shared(view)),
    update: async (conversationId, activityId, view) =>
      cards.updateCard(conversationId, activityId, await shared(view)),
    findPosted: () => Promise.resolve(null),
    classify: classifyTeamsError,
  };
}
