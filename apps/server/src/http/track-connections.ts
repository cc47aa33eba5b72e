// Knows, for each open connection, whether a request is in flight on it, so shutdown can close the
// others at once. Node's server.close() only closes connections idle at that very moment: one that
// never sent a request waited for the whole grace period, and one whose response finished after
// close() stayed open for its keep-alive timeout.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionTracker {
  /** From now on, every connection closes as soon as it has no request in flight. */
  drain(): void;
  /** Connections open now. */
  size(): number;
}

export function trackConnections(server: Server): ConnectionTracker {
  const inFlight = new Map<Socket, number>();
  let draining = false;

  const closeIfIdle = (socket: Socket) => {
    if (draining && (inFlight.get(socket) ?? 0) === 0) socket.destroySoon();
  };

  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
    if (draining) socket.destroySoon();
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      const count = inFlight.get(socket);
      if (count === undefined) return; // the connection itself is gone already
      inFlight.set(socket, Math.max(0, count - 1));
      closeIfIdle(socket);
    });
  });

  return {
    drain() {
      draining = true;
      for (const socket of inFlight.keys()) closeIfIdle(socket);
    },
    size: () => inFlight.size,
  };
}
