// A local verdict-callback receiver for delivery tests: an HTTP server on a loopback address that
// verifies every request's Countersign-Signature with the client's callback secret (through the
// exported verifyCallbackSignature, as a real receiver would), records what arrived (headers, raw
// body, verification result) and answers each attempt as scripted: a status code, or a hang that
// outlasts the sender's timeout. It also counts TCP connections, so a test can show that nothing
// connected at all.
import { once } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  verifyCallbackSignature,
  type VerifyCallbackResult,
} from '../../apps/server/src/delivery/callback-signature.ts';
import { pollUntil, type PollOptions } from './poll.ts';

/** How one attempt is answered: an HTTP status, or no answer at all until the sender gives up. */
export type ScriptedAnswer = number | 'hang';

export interface ReceivedCallback {
  /** 0-based arrival order across the receiver's life. */
  index: number;
  receivedAt: Date;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The parsed body, or undefined when it was not JSON. */
  body: unknown;
  /** The Countersign-Delivery header. */
  deliveryId: string | undefined;
  /** The Countersign-Signature header. */
  signatureHeader: string | undefined;
  /** verifyCallbackSignature with the receiver's secret at the time the request arrived. */
  signature: VerifyCallbackResult;
  answer: ScriptedAnswer;
}

export interface CallbackReceiver {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** A URL on this receiver; requests to any path are accepted. */
  urlFor(path?: string): string;
  /** Everything received so far, in arrival order (a copy). */
  received(): ReceivedCallback[];
  /** Received requests carrying this Countersign-Delivery id. */
  forDelivery(deliveryId: string): ReceivedCallback[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Answers for the next requests, in order; once used up, `fallback` answers. */
  script(...answers: ScriptedAnswer[]): void;
  /** The answer once the script is used up (200 unless changed). */
  setFallback(answer: ScriptedAnswer): void;
  /** The secret later requests are verified with. */
  setSecret(secret: string): void;
  /** Polls until at least `count` requests arrived (and returns them all). */
  waitForCount(count: number, options?: PollOptions): Promise<ReceivedCallback[]>;
  close(): Promise<void>;
}

export interface StartCallbackReceiverOptions {
  secret: string;
  /** A loopback address to listen on; 127.0.0.1 unless given. */
  host?: string;
  /** Port to listen on; a free one unless given. */
  port?: number;
}

function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

export async function startCallbackReceiver(
  options: StartCallbackReceiverOptions,
): Promise<CallbackReceiver> {
  const host = options.host ?? '127.0.0.1';
  let secret = options.secret;
  let fallback: ScriptedAnswer = 200;
  const plan: ScriptedAnswer[] = [];
  const received: ReceivedCallback[] = [];
  let connections = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const answer = plan.length > 0 ? (plan.shift() as ScriptedAnswer) : fallback;
      const signatureHeader = singleHeader(req.headers, SIGNATURE_HEADER);
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      received.push({
        index: received.length,
        receivedAt: new Date(),
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        deliveryId: singleHeader(req.headers, DELIVERY_HEADER),
        signatureHeader,
        signature: verifyCallbackSignature({ rawBody, header: signatureHeader, secret }),
        answer,
      });
      if (answer === 'hang') return; // the sender times out and drops the connection
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(`answered ${answer}`);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    urlFor: (path = '/hooks/countersign') => `${url}${path}`,
    received: () => [...received],
    forDelivery: (deliveryId) => received.filter((r) => r.deliveryId === deliveryId),
    connections: () => connections,
    script(...answers) {
      plan.push(...answers);
    },
    setFallback(answer) {
      fallback = answer;
    },
    setSecret(value) {
      secret = value;
    },
    waitForCount(count, pollOptions = {}) {
      return pollUntil(
        () => [...received],
        (all) => all.length >= count,
        { what: `${count} callback request(s) at ${url}`, ...pollOptions },
      );
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
