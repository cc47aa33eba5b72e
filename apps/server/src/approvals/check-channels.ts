// A request may only target chat channels Countersign can post to. A Teams conversation exists
// for the bot only once the bot was added there (the install stores its reference), so a request
// for any other Teams conversation is refused at creation instead of leaving a card nobody sees.
import type { Deps } from '../deps.ts';
import { AppError, type FieldError } from '../errors.ts';
import { parseChannel } from './channels.ts';

export async function assertChannelsConnected(
  deps: Pick<Deps, 'db' | 'chatPlatforms'>,
  channels: readonly string[],
  requestedAsList: boolean,
): Promise<void> {
  const problems: FieldError[] = [];
  for (const [index, channel] of channels.entries()) {
    const parsed = parseChannel(channel);
    const pointer = requestedAsList ? `/channel/${index}` : '/channel';
    if (!parsed) {
      problems.push({ pointer, message: `"${channel}" names no Slack channel or Teams conversation` });
      continue;
    }
    if (parsed.platform !== 'teams' || !deps.chatPlatforms.has('teams')) continue;
    const conversation = await deps.db.prisma.teamsConversation.findUnique({
      where: { conversationId: parsed.id },
      select: { removedAt: true },
    });
    if (!conversation || conversation.removedAt) {
      problems.push({
        pointer,
        message: conversation
          ? `the Countersign bot was removed from Teams conversation ${parsed.id}; add it again`
          : `the Countersign bot was never added to Teams conversation ${parsed.id}; add it to that team, channel or chat first`,
      });
    }
  }
  if (problems.length > 0) {
    throw new AppError('CHANNEL_NOT_CONNECTED', {
      detail: problems.map((p) => p.message).join('; '),
      errors: problems,
    });
  }
}

/** At start-up: says which Teams conversations the policy names that the bot was never added to. */
export async function warnAboutUnconnectedPolicyChannels(
  deps: Pick<Deps, 'db' | 'chatPlatforms' | 'policy' | 'log'>,
): Promise<void> {
  if (!deps.chatPlatforms.has('teams')) return;
  const named = new Set(
    deps.policy.rules.flatMap((rule) => [
      ...rule.channels,
      ...rule.defaultChannels,
      ...(rule.followUp?.escalate?.channel ? [rule.followUp.escalate.channel] : []),
    ]),
  );
  for (const channel of named) {
    const parsed = parseChannel(channel);
    if (parsed?.platform !== 'teams') continue;
    const conversation = await deps.db.prisma.teamsConversation.findUnique({
      where: { conversationId: parsed.id },
      select: { removedAt: true },
    });
    if (!conversation || conversation.removedAt) {
      deps.log.warn(
        { channel, rules: deps.policy.rules.filter((r) => r.channels.includes(channel)).map((r) => r.name) },
        'the policy names a Teams conversation the bot is not in: requests for it are refused until the bot is added there',
      );
    }
  }
}
