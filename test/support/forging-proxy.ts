// A proxy in front of the server that can lie: for the request ids it is told to forge, it answers
// GET /v1/approvals/{id} with the real answer turned "approved" and stripped of its receipt. It
// stands for what a client cannot rule out (a compromised server, a rewritten row the server did
// not catch, a man in the middle): the client's own receipt check must refuse such an answer.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ForgingProxy {
  url: string;
  /** From now on, answer this request as approved without a receipt. */
  forgeApproved(id: string): void;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startForgingProxy(target: string): Promise<ForgingProxy> {
  const forged = new Set<string>();
  const waiting = new Map<string, { headers: Record<string, string>; res: ServerResponse }[]>();
  /** The real answer, without waiting, turned into the lie. */
  const lie = async (id: string, headers: Record<string, string>, res: ServerResponse): Promise<void> => {
    const real = await fetch(new URL(`/v1/approvals/${id}`, target), { headers });
    const approval = (await real.json()) as Record<string, unknown>;
    const { receipt: _receipt, ...withoutReceipt } = approval;
    const forgedAnswer = { ...withoutReceipt, status: 'approved', decidedAt: new Date().toISOString() };
    if (!res.writableEnded) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(forgedAnswer));
    }
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', target);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
        ),
      );
      const id = /^\/v1\/approvals\/([0-9a-f-]{36})$/.exec(url.pathname)?.[1];
      if (req.method === 'GET' && id) {
        if (forged.has(id)) {
          await lie(id, headers, res);
          return;
        }
        // A long-poll is held here, so that forging the request answers it at once.
        const held = waiting.get(id) ?? [];
        waiting.set(id, [...held, { headers, res }]);
        res.on('close', () =>
          waiting.set(
            id,
            (waiting.get(id) ?? []).filter((w) => w.res !== res),
          ),
        );
        const answer = await fetch(url, { headers });
        const text = await answer.text();
        if (res.writableEnded || forged.has(id)) return;
        res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(text);
        return;
      }
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await bodyOf(req);
      const answer = await fetch(url, { method: req.method ?? 'GET', headers, ...(body ? { body } : {}) });
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(Buffer.from(await answer.arrayBuffer()));
    })().catch((error: unknown) => {
      res.writeHead(502).end(String(error));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forgeApproved(id) {
      forged.add(id);
      for (const held of waiting.get(id) ?? []) void lie(id, held.headers, held.res);
      waiting.delete(id);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
