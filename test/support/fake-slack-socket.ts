// A local Slack Socket Mode endpoint: hands out single-use ticket URLs through the fake Web API's
// apps.connections.open, greets each socket with `hello`, sends envelopes (events_api, interactive,
// slash_commands) as Slack does and collects the client's acks by envelope_id.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket from 'ws';
import { z } from 'zod';
import type { FakeSlack } from './fake-slack.ts';
import { pollUntil, type PollOptions } from './poll.ts';

export type EnvelopeType = 'events_api' | 'interactive' | 'slash_commands';

/** What the client sent back for an envelope: `{ envelope_id, payload? }`. */
export interface SocketAck {
  envelopeId: string;
  payload: Record<string, unknown> | undefined;
  at: Date;
}

export interface SendEnvelopeOptions {
  /** Slack sets it for slash commands and view submissions (the ack may carry a response). */
  acceptsResponsePayload?: boolean;
  /** events_api only: Slack's redelivery counter and reason. */
  retryAttempt?: number;
  retryReason?: string;
  /** How long to wait for the ack (Slack redelivers after 3 s; 10 s here, for a loaded machine). */
  ackTimeoutMs?: number;
}

export interface FakeSlackSocket {
  /** Sockets currently open. */
  openConnections(): number;
  /** Waits for `count` sockets to have been greeted with hello since the start. */
  waitForHellos(count: number, options?: PollOptions): Promise<void>;
  /** Sends an envelope on the newest open socket and resolves with the client's ack. */
  send(type: EnvelopeType, payload: unknown, options?: SendEnvelopeOptions): Promise<SocketAck>;
  /** Every ack received, in order. */
  acks(): SocketAck[];
  /** Frames the client sent that are not acks of an envelope we sent (should stay empty). */
  strayFrames(): string[];
  /** Slack's `disconnect` message (e.g. `refresh_requested`): the client should reconnect. */
  disconnect(reason: string): void;
  close(): Promise<void>;
}

const ackSchema = z.object({
  envelope_id: z.string().min(1),
  payload: z.record(z.string(), z.unknown()).optional(),
});

export async function startFakeSlackSocket(fake: FakeSlack): Promise<FakeSlackSocket> {
  const tickets = new Set<string>();
  const sockets: WebSocket[] = [];
  const waiting = new Map<string, (ack: SocketAck) => void>();
  const acks: SocketAck[] = [];
  const stray: string[] = [];
  let hellos = 0;

  const server = http.createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  const wss = new WebSocket.Server({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket is good for one connection, and only one handed out by apps.connections.open.
    if (url.pathname !== '/link/' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Node hands an http.Server's upgrade a net.Socket; @types/ws 6 asks for exactly that type.
    wss.handleUpgrade(req, socket as Socket, head, (ws) => {
      sockets.push(ws);
      ws.on('message', (data) => {
        const text = typeof data === 'string' ? data : Buffer.from(data as Buffer).toString('utf8');
        let parsed: z.infer<typeof ackSchema> | undefined;
        try {
          parsed = ackSchema.safeParse(JSON.parse(text)).data;
        } catch {
          parsed = undefined;
        }
        const resolve = parsed ? waiting.get(parsed.envelope_id) : undefined;
        if (!parsed || !resolve) {
          stray.push(text);
          return;
        }
        waiting.delete(parsed.envelope_id);
        const ack = { envelopeId: parsed.envelope_id, payload: parsed.payload, at: new Date() };
        acks.push(ack);
        resolve(ack);
      });
      ws.on('close', () => sockets.splice(sockets.indexOf(ws), 1));
      hellos += 1;
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: sockets.length,
          debug_info: { host: 'applink-fake-1', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: fake.appId },
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  fake.setConnectionsOpen(() => {
    const ticket = randomUUID();
    tickets.add(ticket);
    return `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${fake.appId}`;
  });

  return {
    openConnections: () => sockets.filter((s) => s.readyState === WebSocket.OPEN).length,
    waitForHellos: async (count, poll = {}) => {
      await pollUntil(
        () => hellos,
        (n) => n >= count,
        { what: `${count} Socket Mode connection(s)`, ...poll },
      );
    },
    send(type, payload, options = {}) {
      const ws = sockets.filter((s) => s.readyState === WebSocket.OPEN).at(-1);
      if (!ws) return Promise.reject(new Error('no Socket Mode connection is open'));
      const envelopeId = randomUUID();
      const envelope = {
        envelope_id: envelopeId,
        payload,
        type,
        accepts_response_payload: options.acceptsResponsePayload ?? type === 'slash_commands',
        ...(type === 'events_api'
          ? { retry_attempt: options.retryAttempt ?? 0, retry_reason: options.retryReason ?? '' }
          : {}),
      };
      return new Promise<SocketAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(envelopeId);
          reject(new Error(`no ack for ${type} envelope ${envelopeId}`));
        }, options.ackTimeoutMs ?? 10_000);
        waiting.set(envelopeId, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        ws.send(JSON.stringify(envelope));
      });
    },
    acks: () => [...acks],
    strayFrames: () => [...stray],
    disconnect(reason) {
      for (const ws of sockets) {
        ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake-1' } }));
      }
    },
    async close() {
      fake.setConnectionsOpen(undefined);
      for (const ws of sockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
