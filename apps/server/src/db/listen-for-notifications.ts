// One dedicated connection that LISTENs on a channel and survives outages: it reconnects with a
// growing delay and, once back, says so (notifications sent while it was away are lost, so the
// caller looks again for whatever they would have announced).
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';

const RECONNECT_DELAY_MS = 500;
const MAX_RECONNECT_DELAY_MS = 4000;

export interface NotificationListener {
  close(): Promise<void>;
}

export interface ListenOptions {
  url: string;
  channel: string;
  log: Logger;
  onNotification(payload: string): void;
  /** Called after every successful (re)connection, the first included. */
  onConnected(): void;
  /** Fail when the first connection cannot be made (default: log it and keep retrying). */
  requireFirstConnection?: boolean;
}

export async function listenForNotifications(options: ListenOptions): Promise<NotificationListener> {
  const { url, channel, log } = options;
  let closed = false;
  let listener: pg.Client | undefined;
  let reconnectDelayMs = RECONNECT_DELAY_MS;
  let reconnectPending = false;

  // Each client is given up once (its 'error' and 'end' both fire when the server goes away), and
  // at most one reconnect is pending, so an outage never leaves two listeners behind.
  const connect = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: url });
    let lost = false;
    const giveUp = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (listener === client) listener = undefined;
      if (closed) return;
      log.warn({ err: error, channel }, 'notification listener connection lost; reconnecting');
      void client.end().catch(() => undefined);
      scheduleReconnect();
    };
    client.on('notification', (message) => {
      if (message.channel === channel) options.onNotification(message.payload ?? '');
    });
    client.on('error', giveUp);
    client.on('end', () => giveUp());
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
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
    options.onConnected();
  };

  const scheduleReconnect = () => {
    if (closed || reconnectPending) return;
    reconnectPending = true;
    setTimeout(() => {
      reconnectPending = false;
      if (closed) return;
      connect().catch((error: unknown) => {
        log.warn({ err: error, channel }, 'notification listener reconnect failed');
        reconnectDelayMs = Math.min(reconnectDelayMs * 2, MAX_RECONNECT_DELAY_MS);
        scheduleReconnect();
      });
    }, reconnectDelayMs).unref();
  };

  if (options.requireFirstConnection) await connect();
  // Otherwise not being able to listen at first is not fatal: polling still finds the work, and
  // this retries.
  else
    await connect().catch((error: unknown) => {
      log.warn({ err: error, channel }, 'notification listener could not connect; retrying');
      scheduleReconnect();
    });
  return {
    async close() {
      closed = true;
      await listener?.end().catch(() => undefined);
    },
  };
}
