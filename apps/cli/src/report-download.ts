// GET /v1/audit/report for `countersign audit report --url`: the body is piped to the destination as
// it arrives (with backpressure), and the row count and chain status are read from the HTTP
// trailers that follow it. fetch (undici) does not expose trailers, hence node:http(s).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { REPORT_TRAILERS } from '../../server/src/http/routes/audit.report.ts';
import {
  API_ERROR_EXIT_CODE,
  ApiResponseError,
  ApiUnreachableError,
  problemOf,
  reasonOf,
  type Connection,
} from './api-client.ts';
import { CliError } from './cli-error.ts';

const REPORT_PATH = '/v1/audit/report';
/**
 * Longest silence from the server before giving up. Generous: the server sends nothing while it
 * verifies the whole chain after the last row, nor before the first byte of a Markdown report.
 */
const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;
/** An error answer is read up to this size for its problem+json. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The report's query parameters, as the user typed them (the server parses the period too). */
export interface ReportQuery {
  from?: string | undefined;
  to?: string | undefined;
  format: string;
  action?: string | undefined;
  requester?: string | undefined;
  controls?: string | undefined;
}

export interface ReportDestination {
  /** Called once the server has answered 2xx, so an error answer leaves no file behind. */
  open(): Writable;
  /** End the stream when the body is complete (a file), or leave it open (stdout). */
  end: boolean;
  /** For messages: the file name, or "stdout". */
  name: string;
}

export interface DownloadReportOptions extends Connection {
  userAgent?: string;
  idleTimeoutMs?: number;
}

export type ReportChainStatus =
  | { rows: number; intact: true }
  | { rows: number; intact: false; firstBadSeq: string | undefined; problem: string | undefined };

/** The body may be cut short or its status is unknown: exit 3, whatever was written stays. */
export class ReportIncompleteError extends CliError {
  constructor(what: string, destination: string) {
    super(
      `${what}: the report written to ${destination} may be incomplete and its audit chain status is unknown`,
      API_ERROR_EXIT_CODE,
    );
    this.name = 'ReportIncompleteError';
  }
}

const lower = <T extends string>(name: T) => name.toLowerCase() as Lowercase<T>;

const trailersSchema = z.object({
  [lower(REPORT_TRAILERS.rows)]: z.string().regex(/^\d+$/).transform(Number),
  [lower(REPORT_TRAILERS.chainIntact)]: z.enum(['true', 'false']),
  [lower(REPORT_TRAILERS.firstBadSeq)]: z.string().regex(/^\d+$/).optional(),
  [lower(REPORT_TRAILERS.problem)]: z.string().min(1).max(100).optional(),
});

function chainStatusOf(response: IncomingMessage, destination: string): ReportChainStatus {
  if (response.trailers[lower(REPORT_TRAILERS.chainIntact)] === undefined) {
    throw new ReportIncompleteError(
      `the server's answer ended without the ${REPORT_TRAILERS.chainIntact} trailer (HTTP trailers ` +
        'are dropped by some proxies: point --url at the server itself)',
      destination,
    );
  }
  const parsed = trailersSchema.safeParse(response.trailers);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ReportIncompleteError(
      `the server's answer has a malformed ${String(issue?.path[0] ?? 'report')} trailer`,
      destination,
    );
  }
  const trailers = parsed.data;
  const rows = trailers[lower(REPORT_TRAILERS.rows)];
  if (trailers[lower(REPORT_TRAILERS.chainIntact)] === 'true') return { rows, intact: true };
  return {
    rows,
    intact: false,
    firstBadSeq: trailers[lower(REPORT_TRAILERS.firstBadSeq)],
    problem: trailers[lower(REPORT_TRAILERS.problem)],
  };
}

async function readErrorBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_ERROR_BODY_BYTES) break;
    }
  } catch {
    // the status says enough
  }
  response.destroy();
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
}

/**
 * Streams the report to `destination` and returns its chain status from the trailers. Throws
 * ApiUnreachableError, ApiResponseError (non-2xx, redirects included: they are not followed) or
 * ReportIncompleteError (the connection broke, or the trailers are missing), all exit 3.
 */
export async function downloadReport(
  options: DownloadReportOptions,
  query: ReportQuery,
  destination: ReportDestination,
  onBytes?: (bytes: number) => void,
): Promise<ReportChainStatus & { bytes: number }> {
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const url = new URL(REPORT_PATH.slice(1), base);
  for (const [name, value] of Object.entries(query)) {
    if (typeof value === 'string') url.searchParams.set(name, value);
  }
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let timedOut = false;

  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'GET',
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
        },
        timeout: idleTimeoutMs,
      },
      resolve,
    );
    req.on('timeout', () => {
      timedOut = true;
      req.destroy();
    });
    // After the answer has begun, a failure surfaces as an error of the response instead.
    req.on('error', (error) => {
      reject(new ApiUnreachableError(options.baseUrl, timedOut ? 'no answer in time' : reasonOf(error)));
    });
    req.end();
  });

  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) {
    const text = await readErrorBody(response);
    const problem = problemOf(response.headers['content-type'] ?? '', text);
    const location = response.headers.location;
    const body =
      status >= 300 && status < 400 && !problem ? `redirect to ${location ?? '?'} not followed` : text;
    throw new ApiResponseError('GET', url.pathname, status, problem, body);
  }

  const out = destination.open();
  let writeError: unknown;
  out.once('error', (error) => {
    writeError ??= error;
  });
  let bytes = 0;
  try {
    await pipeline(
      response,
      async function* count(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          onBytes?.(bytes);
          yield chunk;
        }
      },
      out,
      { end: destination.end },
    );
  } catch (error) {
    if (writeError !== undefined) {
      throw new CliError(
        `cannot write the report to ${destination.name}: ${reasonOf(writeError)}`,
        API_ERROR_EXIT_CODE,
      );
    }
    const reason = timedOut ? `no data for ${Math.round(idleTimeoutMs / 1000)} s` : reasonOf(error);
    throw new ReportIncompleteError(
      `the connection to ${options.baseUrl} broke after ${bytes} bytes of the report (${reason})`,
      destination.name,
    );
  }
  if (!response.complete) {
    throw new ReportIncompleteError(
      `the connection to ${options.baseUrl} closed after ${bytes} bytes, before the report ended`,
      destination.name,
    );
  }
  return { ...chainStatusOf(response, destination.name), bytes };
}
