// One reminder step on a real database with an in-memory notifier: it mentions the approvers who
// have not decided, once; and a step retried after a later step already reminded (its card was
// still on its way when it first ran) says nothing, so approvers never get an older reminder
// after a newer one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatNotifier, ThreadReply } from '../../apps/server/src/chat/follow-up/chat-notifier.ts';
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
});
