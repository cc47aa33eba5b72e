// Channel strings name where a card goes: `slack:<channel id>` or `teams:<conversation id>`. One
// parser for every platform, so policy, requests, the outbox and the adapters agree on them.

export const CHAT_PLATFORMS = ['slack', 'teams'] as const;
export type ChatPlatform = (typeof CHAT_PLATFORMS)[number];

/** How a platform is named in sentences people read. */
export const PLATFORM_NAMES: Record<ChatPlatform, string> = {
  slack: 'Slack',
  teams: 'Microsoft Teams',
};

export interface ParsedChannel {
  platform: ChatPlatform;
  /** The platform's own id: a Slack channel id, or a Teams conversation id without `;messageid=…`. */
  id: string;
}

const SLACK_ID = /^[A-Z0-9][A-Z0-9_-]*$/i;
/** Teams channel and chat ids: `19:…@thread.tacv2`, `19:…@thread.v2`, `a:…` (personal), `29:…`. */
const TEAMS_ID = /^[0-9a-z]{1,3}:[^\s;]+$/i;

function isChatPlatform(value: string): value is ChatPlatform {
  return (CHAT_PLATFORMS as readonly string[]).includes(value);
}

/**
 * Teams appends `;messageid=<thread root>` to the conversation id of activities inside a channel
 * thread; the channel is the part before it. The marker is matched in any letter case. The one
 * normaliser of Teams conversation ids: channel strings, installs, stored references and cards.
 */
export function teamsConversationKey(conversationId: string): string {
  const cut = conversationId.toLowerCase().indexOf(';messageid=');
  return cut === -1 ? conversationId : conversationId.slice(0, cut);
}

/** The channel, or null when the string names no platform this service knows or a malformed id. */
export function parseChannel(channel: string): ParsedChannel | null {
  const colon = channel.indexOf(':');
  if (colon <= 0) return null;
  const platform = channel.slice(0, colon);
  const rest = channel.slice(colon + 1);
  if (!isChatPlatform(platform)) return null;
  if (platform === 'slack') return SLACK_ID.test(rest) ? { platform, id: rest } : null;
  const id = teamsConversationKey(rest);
  return TEAMS_ID.test(id) ? { platform, id } : null;
}

export function formatChannel(channel: ParsedChannel): string {
  return `${channel.platform}:${channel.id}`;
}

/** The platform part of a channel string ("" when there is none); for routing stored channels. */
export function platformOf(channel: string): string {
  return channel.slice(0, Math.max(0, channel.indexOf(':')));
}
