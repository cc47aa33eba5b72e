// Wakes long-polling readers when a request's status changes. A database trigger NOTIFYs
// `countersign_approval_status` with the request id on every status change, from any connection
// or process; one dedicated connection LISTENs. (The embedded PGlite shares one backend between
// connections; its session queue passes each notice on to every connection, this one included.)
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';

export const STATUS_CHANNEL = 'countersign_approval_status';
const RECONNECT_DELAY_MS = 500;
const MAX_RECONNECT_DELAY_MS = 4000;

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

  // Each client is given up once (its 'error' and 'end' both fire when the server goes away), and
  // at most one reconnect is pending, so an outage never leaves two listeners behind.
  let reconnectDelayMs = RECONNECT_DELAY_MS;
  let reconnectPending = false;

  const connect = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: url });
    let lost = false;
    const giveUp = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = undefined;
      if (closed) return;
      log.warn({ err: error }, 'status listener connection lost; reconnecting');
      void client.end().catch(() => undefined);
      scheduleReconnect();
    };
    client.on('notification', onNotification);
    client.on('error', giveUp);
    client.on('end', () => giveUp());
    try {
      await client.connect();
      await client.query(`LISTEN ${STATUS_CHANNEL}`);
    } catch (error) {
      lost = true; // the caller schedules the next try
      void client.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    listener = client;
    reconnectDelayMs = RECONNECT_DELAY_MS;
    // Notifications sent while disconnected are lost: wake every waiter so each one re-reads.
    for (const name of events.eventNames()) if (typeof name === 'string') events.emit(name);
  };

  const scheduleReconnect = () => {
    if (closed || reconnectPending) return;
    reconnectPending = true;
    setTimeout(() => {
      reconnectPending = false;
      if (closed) return;
      connect().catch((error: unknown) => {
        log.warn({ err: error }, 'status listener reconnect failed');
        reconnectDelayMs = Math.min(reconnectDelayMs * 2, MAX_RECONNECT_DELAY_MS);
        scheduleReconnect();
      });
    }, reconnectDelayMs).unref();
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
