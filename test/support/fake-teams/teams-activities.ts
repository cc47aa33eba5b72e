// Activities as Teams sends them to a bot, and a sender that POSTs them to the server's
// /api/messages with a channel token (invokes are answered in the HTTP body).
import { randomUUID } from 'node:crypto';
import type { ChannelTokenKnobs, FakeTeamsChannel } from './fake-teams-channel.ts';

export const FAKE_TENANT_ID = '72f988bf-0000-4000-8000-00000000c0de';

export interface FakeTeamsUser {
  id: string;
  aadObjectId: string;
  name: string;
}

export type Activity = Record<string, unknown>;

/** Where an activity happens: a team channel, a group chat or a personal chat. */
export interface FakeConversation {
  id: string;
  conversationType: 'channel' | 'groupChat' | 'personal';
  teamId?: string;
  name?: string;
  tenantId?: string;
}

export function teamChannel(teamId: string, channelId = teamId, name = 'Security'): FakeConversation {
  return { id: channelId, conversationType: 'channel', teamId, name };
}

export function personalChat(user: FakeTeamsUser): FakeConversation {
  return { id: `a:personal-${user.aadObjectId}`, conversationType: 'personal' };
}

export function fakeUser(name: string): FakeTeamsUser {
  const aadObjectId = randomUUID();
  return { id: `29:${name}-${aadObjectId.slice(0, 8)}`, aadObjectId, name };
}

function base(
  channel: FakeTeamsChannel,
  where: FakeConversation,
  from: FakeTeamsUser,
  conversationId = where.id,
) {
  const tenantId = where.tenantId ?? FAKE_TENANT_ID;
  return {
    id: randomUUID(),
    channelId: 'msteams',
    serviceUrl: channel.serviceUrl,
    timestamp: new Date().toISOString(),
    from: { id: from.id, aadObjectId: from.aadObjectId, name: from.name },
    recipient: { id: channel.botId, name: 'Countersign' },
    conversation: {
      id: conversationId,
      conversationType: where.conversationType,
      tenantId,
      ...(where.conversationType === 'personal' ? {} : { isGroup: true }),
      ...(where.name && where.conversationType !== 'channel' ? { name: where.name } : {}),
    },
    channelData: {
      tenant: { id: tenantId },
      ...(where.teamId ? { team: { id: where.teamId, name: 'Platform team' } } : {}),
      ...(where.conversationType === 'channel' ? { channel: { id: where.id, name: where.name } } : {}),
    },
  };
}

export const teamsActivities = {
  /** conversationUpdate: the bot was added (to a team: its General channel is the team id). */
  botAdded(channel: FakeTeamsChannel, where: FakeConversation, by: FakeTeamsUser): Activity {
    const b = base(channel, where, by);
    return {
      ...b,
      type: 'conversationUpdate',
      membersAdded: [{ id: channel.botId }],
      channelData: { ...b.channelData, eventType: where.teamId ? 'teamMemberAdded' : 'memberAdded' },
    };
  },
  botRemoved(channel: FakeTeamsChannel, where: FakeConversation, by: FakeTeamsUser): Activity {
    const b = base(channel, where, by);
    return {
      ...b,
      type: 'conversationUpdate',
      membersRemoved: [{ id: channel.botId }],
      channelData: { ...b.channelData, eventType: where.teamId ? 'teamMemberRemoved' : 'memberRemoved' },
    };
  },
  installationUpdate(
    channel: FakeTeamsChannel,
    where: FakeConversation,
    by: FakeTeamsUser,
    action: 'add' | 'remove' | 'add-upgrade' | 'remove-upgrade',
  ): Activity {
    return { ...base(channel, where, by), type: 'installationUpdate', action };
  },
  message(channel: FakeTeamsChannel, where: FakeConversation, from: FakeTeamsUser, text: string): Activity {
    return { ...base(channel, where, from), type: 'message', text };
  },
  /** An Action.Execute click on the card in message `cardActivityId`; in a channel the id carries the thread. */
  cardAction(
    channel: FakeTeamsChannel,
    where: FakeConversation,
    from: FakeTeamsUser,
    action: { verb: string; data?: Record<string, unknown>; cardActivityId: string },
  ): Activity {
    const conversationId =
      where.conversationType === 'channel' ? `${where.id};messageid=${action.cardActivityId}` : where.id;
    return {
      ...base(channel, where, from, conversationId),
      type: 'invoke',
      name: 'adaptiveCard/action',
      replyToId: action.cardActivityId,
      value: {
        action: { type: 'Action.Execute', verb: action.verb, data: action.data ?? {} },
        trigger: 'manual',
      },
    };
  },
  fileConsent(
    channel: FakeTeamsChannel,
    where: FakeConversation,
    from: FakeTeamsUser,
    answer: { action: 'accept' | 'decline'; context: unknown; fileName: string; replyToId?: string },
  ): Activity {
    return {
      ...base(channel, where, from),
      type: 'invoke',
      name: 'fileConsent/invoke',
      ...(answer.replyToId ? { replyToId: answer.replyToId } : {}),
      value: {
        type: 'fileUpload',
        action: answer.action,
        context: answer.context,
        ...(answer.action === 'accept'
          ? {
              uploadInfo: {
                name: answer.fileName,
                uploadUrl: channel.uploadUrl(answer.fileName),
                contentUrl: `https://contoso-my.sharepoint.test/personal/${encodeURIComponent(answer.fileName)}`,
                uniqueId: randomUUID(),
                fileType: answer.fileName.split('.').pop(),
              },
            }
          : {}),
      },
    };
  },
};

export interface SentActivity {
  status: number;
  contentType: string;
  body: unknown;
}

/** POSTs `activity` to `{botUrl}/api/messages` with a channel token (or none: `token: null`). */
export async function sendActivity(
  botUrl: string,
  channel: FakeTeamsChannel,
  activity: Activity,
  knobs: ChannelTokenKnobs & { token?: string | null } = {},
): Promise<SentActivity> {
  const token = knobs.token === undefined ? await channel.mintChannelToken(knobs) : knobs.token;
  const response = await fetch(`${botUrl}/api/messages`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(activity),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    contentType,
    body: text && contentType.includes('json') ? (JSON.parse(text) as unknown) : text,
  };
}
