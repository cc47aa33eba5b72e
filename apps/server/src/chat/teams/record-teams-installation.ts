// Stores where the Teams bot is installed: one row per conversation (team channel, group chat,
// personal chat) with the reference proactive posts need, so every replica can post there and it
// survives restarts. An install or removal and its audit event commit together. Teams announces
// one install twice (conversationUpdate and installationUpdate): only a change is audited.
import type { Prisma } from '../../db/client.ts';
import { appendAuditEvent } from '../../audit/append-event.ts';
import type { TeamsConversationAudit } from '../../audit/event-types.ts';
import type { Database } from '../../db/client.ts';
import { inTransaction } from '../../db/transaction.ts';
import type { Clock } from '../../deps.ts';
import { teamsConversationKey } from '../../approvals/channels.ts';
import {
  findTeamsConversation,
  lockTeamsConversation,
  markTeamsConversationRemoved,
  upsertTeamsConversation,
} from './teams-store.ts';

export interface TeamsConversationInfo {
  /** Any form of the id; stored without its ";messageid=" suffix. */
  conversationId: string;
  /** The conversation reference (JSON), already pointing at the normalized conversation id. */
  reference: Prisma.InputJsonObject;
  tenantId: string | null;
  teamId: string | null;
  conversationType: string | null;
  name: string | null;
}

export interface TeamsInstallationDeps {
  db: Pick<Database, 'pool'>;
  clock: Clock;
}

export type TeamsInstallationSource = TeamsConversationAudit['via'];

export type InstallationChange = 'installed' | 'reinstalled' | 'refreshed';

function auditPayload(
  conversationId: string,
  info: Pick<TeamsConversationInfo, 'conversationType' | 'tenantId' | 'teamId' | 'name'>,
  via: TeamsInstallationSource,
): TeamsConversationAudit {
  return {
    conversationId,
    conversationType: info.conversationType,
    tenantId: info.tenantId,
    teamId: info.teamId,
    name: info.name,
    via,
  };
}

/** Upserts the conversation; writes `teams.installed` when it is new or had been removed. */
export async function recordTeamsInstallation(
  deps: TeamsInstallationDeps,
  info: TeamsConversationInfo,
  actor: string,
  via: TeamsInstallationSource,
): Promise<InstallationChange> {
  const conversationId = teamsConversationKey(info.conversationId);
  const now = deps.clock.now();
  return inTransaction(deps.db, async (tx) => {
    await lockTeamsConversation(tx, conversationId);
    const before = (await findTeamsConversation(tx, conversationId)) ?? null;
    const fields = {
      reference: info.reference,
      tenantId: info.tenantId ?? before?.tenantId ?? null,
      teamId: info.teamId ?? before?.teamId ?? null,
      conversationType: info.conversationType ?? before?.conversationType ?? null,
      name: info.name ?? before?.name ?? null,
    };
    const active = before !== null && before.removedAt === null;
    await upsertTeamsConversation(tx, conversationId, fields, now, !active);
    if (active) return 'refreshed';
    await appendAuditEvent(
      tx,
      { type: 'teams.installed', actor, payload: auditPayload(conversationId, fields, via) },
      now,
    );
    return before ? 'reinstalled' : 'installed';
  });
}

/** Marks the conversation removed; writes `teams.removed` when it was installed. */
export async function recordTeamsRemoval(
  deps: TeamsInstallationDeps,
  rawConversationId: string,
  actor: string,
  via: TeamsInstallationSource,
): Promise<boolean> {
  const conversationId = teamsConversationKey(rawConversationId);
  const now = deps.clock.now();
  return inTransaction(deps.db, async (tx) => {
    await lockTeamsConversation(tx, conversationId);
    const before = (await findTeamsConversation(tx, conversationId)) ?? null;
    if (!before || before.removedAt !== null) return false;
    await markTeamsConversationRemoved(tx, conversationId, now);
    await appendAuditEvent(
      tx,
      { type: 'teams.removed', actor, payload: auditPayload(conversationId, before, via) },
      now,
    );
    return true;
  });
}
