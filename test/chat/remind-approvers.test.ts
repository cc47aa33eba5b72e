// One reminder step on a real database with an in-memory notifier: it mentions the approvers who
// have not decided, once; and a step retried after a later step already reminded (its card was
// still on its way when it first ran) says nothing, so approvers never get an older reminder
// after a newer one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatNotifier, ThreadReply } from '../../apps/server/src/chat/follow-up/chat-notifier.ts';
import { addDelegation } from '../../apps/server/src/approvals/delegation/delegations.ts';
import { remindApprovers } from '../../apps/server/src/chat/follow-up/remind-approvers.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import {
  auditEvents,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const POLICY = `rules:
  - name: reminded
    actions: ["deploy.*"]
    approvers: [bob@example.com, carol@example.com]
    remind: [1m, 2m]
  - name: reached
    actions: ["iam.*"]
    approvers: [bob@example.com, "idp:Data Owners", alice@example.com]
    remind: [1m]
`;

class RecordingNotifier implements ChatNotifier {
  readonly platform = 'slack' as const;
  readonly replies: { channelId: string; messageId: string; reply: ThreadReply }[] = [];
  replyInThread(channelId: string, messageId: string, reply: ThreadReply) {
    this.replies.push({ channelId, messageId, reply });
    return Promise.resolve({ mentioned: [...reply.mention], unresolved: [] });
  }
  directMessage(): Promise<'sent' | 'unreachable'> {
    return Promise.resolve('sent');
  }
}

describe('a reminder step', () => {
  let m: MigratedDatabase;
  let deps: Deps;

  beforeAll(async () => {
    m = await openMigratedDatabase();
    deps = { ...testDeps(m.db, { policy: policyFromYaml(POLICY) }), chatPlatforms: new Set(['slack']) };
    await deps.jobs.start();
  });
  afterAll(async () => {
    await deps.jobs.stop();
    await m.close();
  });

  it('reminds once per step, and never with an older step after a newer one', async () => {
    const request = await createTestRequest(deps, { action: 'deploy.production', channel: 'slack:C0REMIND' });
    await m.db.prisma.chatCard.updateMany({
      where: { requestId: request.id },
      data: { messageId: '1700000000.000100', postedAt: new Date(), shownVersion: 1 },
    });
    const notifier = new RecordingNotifier();
    const notifiers = new Map([['slack', notifier]]);

    expect(await remindApprovers(deps, notifiers, request.id, 2)).toBe('reminded');
    expect(notifier.replies).toEqual([
      {
        channelId: 'C0REMIND',
        messageId: '1700000000.000100',
        reply: expect.objectContaining({ mention: ['bob@example.com', 'carol@example.com'] }) as ThreadReply,
      },
    ]);
    expect(await remindApprovers(deps, notifiers, request.id, 2)).toBe('already_reminded');
    expect(await remindApprovers(deps, notifiers, request.id, 1)).toBe('already_reminded');
    expect(notifier.replies).toHaveLength(1);
    const reminded = (await auditEvents(m.db, request.id)).filter((e) => e.type === 'request.reminded');
    expect(reminded.map((e) => e.payload['step'])).toEqual([2]);
  });

  it("mentions the idp: group's members and the approvers' delegates, never the requester's", async () => {
    // The identity provider says dana is in Data Owners (and frank was, until deactivated).
    const group = await m.db.prisma.directoryGroup.create({
      data: { displayName: 'Data Owners', displayNameKey: 'data owners' },
    });
    for (const [name, active] of [
      ['dana', true],
      ['frank', false],
    ] as const) {
      const user = await m.db.prisma.directoryUser.create({
        data: { userName: name, userNameKey: name, email: `${name}@example.com`, active },
      });
      await m.db.prisma.directoryMember.create({ data: { groupId: group.id, userId: user.id } });
    }
    // bob is away: carol decides for him. The requester alice handed her part to erin.
    const until = new Date(deps.clock.now().getTime() + 86_400_000);
    await addDelegation(deps, { from: 'bob@example.com', to: 'carol@example.com', until, actor: 'cli' });
    await addDelegation(deps, { from: 'alice@example.com', to: 'erin@example.com', until, actor: 'cli' });

    const request = await createTestRequest(deps, { action: 'iam.grant', channel: 'slack:C0REMIND' });
    await m.db.prisma.chatCard.updateMany({
      where: { requestId: request.id },
      data: { messageId: '1700000000.000200', postedAt: new Date(), shownVersion: 1 },
    });
    const notifier = new RecordingNotifier();
    expect(await remindApprovers(deps, new Map([['slack', notifier]]), request.id, 1)).toBe('reminded');
    expect(notifier.replies.map((r) => [...r.reply.mention].sort())).toEqual([
      ['bob@example.com', 'carol@example.com', 'dana@example.com'],
    ]);
  });
});
