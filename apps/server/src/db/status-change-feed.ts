// Wakes long-polling readers when a request's status changes. A database trigger NOTIFYs
// `countersign_approval_status` with the request id on every status change, from any connection
// or process; one dedicated connection LISTENs. (The embedded PGlite shares one backend between
// connections; its session queue passes each notice on to every connection, this one included.)
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';

export const STATUS_CHANNEL = 'countersign_approval_status';
const RECONNECT_DELAY_MS = 1000;

export interface StatusChangeFeed {
  /** Resolves when the request's status changes, the timeout passes, the signal aborts or the feed closes. */
  waitForChange(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export async function startStatusChangeFeed(url: string, log: Logger): Promise<StatusChangeFeed> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let closed = false;
  let listener: pg.Client | undefined;

  const onNotification = (message: pg.Notification) => {
    if (message.channel === STATUS_CHANNEL && message.payload) events.emit(message.payload);
  };
  const CLOSED = Symbol('closed');

  const connect = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', onNotification);
    client.on('error', (error) => {
      log.warn({ err: error }, 'status listener connection failed; reconnecting');
      void client.end().catch(() => undefined);
      scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${STATUS_CHANNEL}`);
    listener = client;
    // Notifications sent while disconnected are lost: wake every waiter so each one re-reads.
    for (const name of events.eventNames()) if (typeof name === 'string') events.emit(name);
  };

  const scheduleReconnect = () => {
    listener = undefined;
    if (closed) return;
    setTimeout(() => {
      if (!closed)
        connect().catch((error: unknown) => {
          log.warn({ err: error }, 'status listener reconnect failed');
          scheduleReconnect();
        });
    }, RECONNECT_DELAY_MS).unref();
  };

  await connect();

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
      await listener?.end().catch(() => undefined);
    },
  };
}
