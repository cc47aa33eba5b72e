// The Teams side of the card flush loop: Adaptive Cards posted and updated through the stored
// conversation reference, and Teams' errors classified. Teams offers a bot no way to search a
// channel's messages, so a card whose post may have reached Teams just before a crash cannot be
// found again (findPosted answers null): the window is the time between the connector's answer
// and the commit that stores the activity id.
import type { ChatTransport } from '../flush-channel.ts';
import { renderTeamsCard } from './cards.ts';
import { classifyTeamsError } from './classify-teams-error.ts';
import type { TeamsCardTransport } from './create-teams-card-transport.ts';

export function createTeamsChatTransport(cards: TeamsCardTransport): ChatTransport {
  return {
    platform: 'teams',
    methodNames: { post: 'sendToConversation', update: 'updateActivity', findPosted: null },
    post: (conversationId, view) => cards.postCard(conversationId, renderTeamsCard(view)),
    update: (conversationId, activityId, view) =>
      cards.updateCard(conversationId, activityId, renderTeamsCard(view)),
    findPosted: () => Promise.resolve(null),
    classify: classifyTeamsError,
  };
}
