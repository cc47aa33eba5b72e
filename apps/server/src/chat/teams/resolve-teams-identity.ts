// Resolves a Teams user to the address eligibility is checked against: TeamsInfo.getMember
// (the team's roster in a team, the chat's otherwise) → email, else UPN, lower-cased. Email and UPN
// are different values (a guest's UPN is "alice_example.com#EXT#@…"), so which one was used is
// kept. Any failure (not a member: 404, bot removed: 403, network) gives null: fail closed.
import { TeamsInfo, type TurnContext } from 'botbuilder';
import { z } from 'zod';
import type { Logger } from '../../observability/logger.ts';
import type { CountChatCall } from '../count-chat-call.ts';

export interface TeamsIdentity {
  /** Lower-cased email, else lower-cased UPN, else null (no decision can be tied to them). */
  email: string | null;
  /** Which field `email` came from. */
  emailSource: 'email' | 'upn' | null;
  tenantId: string | null;
  displayName: string | null;
  aadObjectId: string | null;
}

const memberSchema = z.looseObject({
  email: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
  tenantId: z.string().nullish(),
  name: z.string().nullish(),
  aadObjectId: z.string().nullish(),
});

function normalized(value: string | null | undefined): string | null {
  const trimmed = value?.trim().toLowerCase();
  return trimmed ? trimmed : null;
}

/** The member `userId` of the turn's team or chat, or null when Teams does not vouch for them. */
export async function resolveTeamsIdentity(
  context: TurnContext,
  userId: string,
  countCall: CountChatCall,
  log?: Logger,
): Promise<TeamsIdentity | null> {
  let raw: unknown;
  try {
    raw = await countCall('getConversationMember', () => TeamsInfo.getMember(context, userId));
  } catch (error) {
    log?.warn({ userId, err: error }, 'Teams member lookup failed; identity unresolved');
    return null;
  }
  const member = memberSchema.safeParse(raw);
  if (!member.success) return null;
  const email = normalized(member.data.email);
  const upn = normalized(member.data.userPrincipalName);
  return {
    email: email ?? upn,
    emailSource: email ? 'email' : upn ? 'upn' : null,
    tenantId: member.data.tenantId ?? null,
    displayName: member.data.name ?? null,
    aadObjectId: member.data.aadObjectId ?? null,
  };
}
