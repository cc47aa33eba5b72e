// Regression test: a long-poll that reaches getRequest() after shutdown has begun (its abort
// signal already aborted) must not wait for a status change; it used to wait out the whole
// ?wait=N because an 'abort' listener never fires for a signal that is already aborted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRequest } from '../../apps/server/src/approvals/get-request.ts';
import type { StatusChangeFeed } from '../../apps/server/src/db/status-change-feed.ts';
import { systemClock, type Deps } from '../../apps/server/src/deps.ts';
import { silentLogger } from '../support/logging.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/**
 * A feed that records the signal each wait gets. The wait ends when that signal aborts, or at
 * once with `endAtOnce` (so a test can inspect the signal instead of hanging when it is wrong).
 */
function recordingFeed(endAtOnce: boolean): { feed: StatusChangeFeed; signals: (AbortSignal | undefined)[] } {
  const signals: (AbortSignal | undefined)[] = [];
  const feed: StatusChangeFeed = {
    waitForChange(_id, _timeoutMs, signal) {
      signals.push(signal);
      if (endAtOnce || !signal || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => resolve(), { once: true }),
      );
    },
    close: () => Promise.resolve(),
  };
  return { feed, signals };
}

describe('getRequest() with ?wait and an abort signal', () => {
  let t: TestServer;
  let deps: Deps;
  let clientId: string;
  let requestId: string;

  beforeAll(async () => {
    t = await startTestServer();
    const created = await t.createKey();
    clientId = created.clientId;
    const response = await t.call('POST', '/v1/approvals', {
      key: created.key,
      body: { action: 'db.export', requester: { email: 'alice@example.com' } },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    requestId = String(response.body['id']);
    // getRequest reads only deps.db; the rest of Deps is not needed for it.
    const partial: Pick<Deps, 'db' | 'clock' | 'log'> = {
      db: t.server.db,
      clock: systemClock,
      log: silentLogger(),
    };
    deps = partial as Deps;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('does not wait when the signal is already aborted (request arriving during shutdown)', async () => {
    const { feed, signals } = recordingFeed(true);
    const aborted = AbortSignal.abort();
    const request = await getRequest(deps, feed, clientId, {
      id: requestId,
      waitSeconds: 60,
      signal: aborted,
    });
    expect(request.status).toBe('pending');
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(true);
  });

  it('stops waiting when the signal aborts during the wait', async () => {
    const { feed, signals } = recordingFeed(false);
    const controller = new AbortController();
    const pending = getRequest(deps, feed, clientId, {
      id: requestId,
      waitSeconds: 60,
      signal: controller.signal,
    });
    await expect.poll(() => signals.length).toBe(1);
    expect(signals[0]?.aborted).toBe(false);
    controller.abort();
    expect((await pending).status).toBe('pending');
  });
});
