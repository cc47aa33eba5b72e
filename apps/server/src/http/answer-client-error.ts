// Node's HTTP parser refuses some requests before express sees them (bad header bytes, a raw
// path with control characters, headers over the limit, a request that never finished). By
// default Node answers those with a bare 400/408/413/431; this answers them as problem+json, with a
// request id, wherever Node would have written a response at all.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { problemBody } from './problem.ts';

const BY_NODE_CODE: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [
    'PAYLOAD_TOO_LARGE',
    'the chunk extensions are larger than the server accepts',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: ['REQUEST_TIMEOUT', 'the request was not received in time'],
};

export function clientErrorProblem(code: string | undefined): AppError {
  const [errorCode, detail] = (code !== undefined ? BY_NODE_CODE[code] : undefined) ?? [
    'MALFORMED_REQUEST',
    'the request could not be parsed as HTTP (request line or headers)',
  ];
  return new AppError(errorCode, { detail: code ? `${detail} (${code})` : detail });
}

interface SocketWithMessage extends Socket {
  /** The response in flight on this socket, if any (Node's own bookkeeping). */
  _httpMessage?: { headersSent?: boolean } | null;
}

export function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: SocketWithMessage) => {
    // A reset peer, or a response already under way on this socket: writing would corrupt it.
    if (error.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const problem = clientErrorProblem(error.code);
    const requestId = randomUUID();
    log.warn({ code: problem.code, nodeCode: error.code, requestId }, 'request refused by the HTTP parser');
    const body = JSON.stringify(problemBody(problem, requestId));
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
