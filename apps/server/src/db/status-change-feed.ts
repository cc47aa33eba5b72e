// Wakes long-polling readers when a request's status changes. A database trigger NOTIFYs
// `countersign_approval_status` with the request id on every status change, from any connection
// or process; one dedicated connection LISTENs (listen-for-notifications.ts). (The embedded
// PGlite shares one backend between connections; its session queue passes each notice on to every
// connection, this one included.)
import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger.ts';
import { listenForNotifications } from './listen-for-notifications.ts';

export const STATUS_CHANNEL = 'countersign_approval_status';

export interface StatusChangeFeed {
  /** Resolves when the request's status changes, the timeout passes, the signal aborts or the feed closes. */
  waitForChange(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export async function startStatusChangeFeed(url: string, log: Logger): Promise<StatusChangeFeed> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let closed = false;
  const CLOSED = Symbol('closed');
  const listener = await listenForNotifications({
    url,
    channel: STATUS_CHANNEL,
    log,
    requireFirstConnection: true,
    onNotification(payload) {
      if (payload) events.emit(payload);
    },
    onConnected() {
      // Notifications sent while disconnected are lost: wake every waiter so each one re-reads.
      for (const name of events.eventNames()) if (typeof name === 'string') events.emit(name);
    },
  });

  return {
    waitForChange(id, timeoutMs, signal) {
      if (closed || signal?.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          events.off(id, done);
          events.off(CLOSED, done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        events.on(id, done);
        events.on(CLOSED, done);
        signal?.addEventListener('abort', done);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      events.emit(CLOSED);
      await listener.close();
    },
  };
}
