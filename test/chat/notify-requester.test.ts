// The requester's notice is sent once per request, also when two workers run it at the same time
// (a job retried after its expiry while the first attempt still runs): the second waits for the
// first's lock, then reads its requester.notified and sends nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import type { ChatNotifier } from '../../apps/server/src/chat/follow-up/chat-notifier.ts';
import { notifyRequester } from '../../apps/server/src/chat/follow-up/notify-requester.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { pollUntil } from '../support/poll.ts';
import { usingRealPostgres } from '../support/test-database.ts';
import {
  approver,
  auditEvents,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

/** A notifier whose direct messages wait until `release()`. */
class GatedNotifier implements ChatNotifier {
  readonly platform = 'slack' as const;
  readonly sent: string[] = [];
  private open: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  release(): void {
    this.open();
  }
  replyInThread(): Promise<{ mentioned: string[]; unresolved: string[] }> {
    return Promise.reject(new Error('not expected: the direct message reaches the requester'));
  }
  async directMessage(email: string): Promise<'sent' | 'unreachable'> {
    await this.gate;
    this.sent.push(email);
    return 'sent';
  }
}

/** Advisory locks in this database that are held (`granted`) or waited for. */
async function advisoryLocks(db: Deps['db'], granted: boolean): Promise<number> {
  const [row] = await db.prisma.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted = ${granted}
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
  return row?.n ?? 0;
}

// Real Postgres only: the embedded PGlite runs one transaction at a time.
describe.skipIf(!usingRealPostgres)("the requester's notice", () => {
  let m: MigratedDatabase;
  let deps: Deps;

  beforeAll(async () => {
    m = await openMigratedDatabase();
    deps = {
      ...testDeps(m.db, {
        policy: policyFromYaml('rules:\n  - { name: ops, actions: ["*"], approvers: [bob@example.com] }\n'),
      }),
      chatPlatforms: new Set(['slack']),
    };
  });
  afterAll(async () => {
    await m?.close();
  });

  it('is sent once when two workers run it at the same time', async () => {
    // The verdict queues the notice's job; the queue is stopped before the notices run, so that
    // nothing else holds an advisory lock meanwhile.
    await deps.jobs.start();
    const request = await createTestRequest(deps, { action: 'db.export' });
    await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
    await deps.jobs.stop();
    const notifier = new GatedNotifier();
    const notifiers = new Map([['slack', notifier]]);
    const first = notifyRequester(deps, notifiers, request.id);
    // The first holds the lock while its message is on its way; the second queues behind it.
    await pollUntil(
      () => advisoryLocks(m.db, true),
      (n) => n > 0,
      { what: 'the first notice holding its lock' },
    );
    const second = notifyRequester(deps, notifiers, request.id);
    await pollUntil(
      () => advisoryLocks(m.db, false),
      (n) => n > 0,
      { what: 'the second notice waiting for the lock' },
    );
    notifier.release();
    expect([await first, await second]).toEqual(['direct_message', 'already_notified']);
    expect(notifier.sent).toEqual(['alice@example.com']);
    const notified = (await auditEvents(m.db, request.id)).filter((e) => e.type === 'requester.notified');
    expect(notified).toHaveLength(1);
  });
});
