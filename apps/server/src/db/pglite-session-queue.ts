// The embedded PGlite has one backend session shared by every socket connection. pglite-socket's
// own queue hands that session to another connection between any two protocol messages (unless a
// transaction is open), so concurrent Parse/Bind/Execute batches clobber each other's unnamed
// statement: bind errors or, worse, another connection's rows (electric-sql/pglite#1046). This
// queue gives the session to one connection until the backend says ReadyForQuery outside a
// transaction, and passes NOTIFY messages on to every connection, as separate backends would
// see them (LISTEN is session-wide here, so the notice otherwise reaches only the writer).
import type { PGlite } from '@electric-sql/pglite';

type OnData = (data: Uint8Array) => void;

interface Item {
  handlerId: number;
  message: Uint8Array;
  onData: OnData;
  resolve(bytes: number): void;
  reject(error: unknown): void;
}

const READY_FOR_QUERY = 0x5a; // 'Z'
const NOTIFICATION_RESPONSE = 0x41; // 'A'
const TRANSACTION_IDLE = 0x49; // 'I'
const SYNC = Uint8Array.from([0x53, 0, 0, 0, 4]);

/** Splits backend output into whole messages (type byte, int32 length, body). */
function* backendMessages(data: Uint8Array): Generator<Uint8Array> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 0; at + 5 <= data.length;) {
    const end = at + 1 + view.getInt32(at + 1);
    if (end > data.length || end <= at) return;
    yield data.subarray(at, end);
    at = end;
  }
}

export class PgliteSessionQueue {
  private readonly queue: Item[] = [];
  private processing = false;
  /** The connection that holds the session: mid-batch, mid-copy or inside a transaction. */
  private owner: number | undefined;
  private readonly connections = new Map<number, OnData>();

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: OnData): Promise<number> {
    this.connections.set(handlerId, onData);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.connections.delete(handlerId);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i];
      if (item?.handlerId === handlerId) {
        this.queue.splice(i, 1);
        item.reject(new Error('Handler disconnected'));
      }
    }
  }

  /** A connection that leaves while holding the session must not leave it mid-batch or mid-transaction. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    await this.reset();
    void this.process();
  }

  /** Ends whatever the departed owner left open, then frees the session (best effort, never throws). */
  private async reset(): Promise<void> {
    try {
      await this.db.runExclusive(() => this.db.execProtocolRawStream(SYNC, { onRawData: () => undefined }));
      // exec() takes the exclusive lock itself, so it runs after the one above is released.
      if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
    } catch {
      // The database is closing or broken; nothing left to protect.
    } finally {
      this.owner = undefined;
    }
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const index =
          this.owner === undefined ? 0 : this.queue.findIndex((item) => item.handlerId === this.owner);
        const item = index === -1 ? undefined : this.queue.splice(index, 1)[0];
        if (!item) return; // empty, or waiting for the owner's next message
        await this.run(item);
      }
    } finally {
      this.processing = false;
    }
  }

  private async run(item: Item): Promise<void> {
    const chunks: Uint8Array[] = [];
    try {
      await this.db.runExclusive(() =>
        this.db.execProtocolRawStream(item.message, {
          onRawData: (data) => {
            chunks.push(data.slice());
            item.onData(data);
          },
        }),
      );
    } catch (error) {
      this.owner = this.db.isInTransaction() ? item.handlerId : undefined;
      await this.resetIfGone(item.handlerId);
      item.reject(error);
      return;
    }
    const output = Buffer.concat(chunks);
    let ready: number | undefined;
    for (const message of backendMessages(output)) {
      if (message[0] === READY_FOR_QUERY) ready = message[5];
      if (message[0] === NOTIFICATION_RESPONSE) {
        for (const [handlerId, send] of this.connections) if (handlerId !== item.handlerId) send(message);
      }
    }
    this.owner = ready === TRANSACTION_IDLE ? undefined : item.handlerId;
    await this.resetIfGone(item.handlerId);
    item.resolve(output.length);
  }

  /** The owner disconnected while its message ran: nobody will finish its batch or transaction. */
  private async resetIfGone(handlerId: number): Promise<void> {
    if (this.owner === handlerId && !this.connections.has(handlerId)) await this.reset();
  }
}
