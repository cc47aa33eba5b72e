// `audit verify --url`: the server recomputes the chain (GET /v1/audit/verify, scope audit:read).
import { z } from 'zod';
import {
  API_ERROR_EXIT_CODE,
  ApiResponseError,
  ApiUnreachableError,
  problemOf,
  reasonOf,
  type Connection,
} from './api-client.ts';
import { CliError } from './cli-error.ts';

const verificationSchema = z.discriminatedUnion('intact', [
  z.object({
    intact: z.literal(true),
    events: z.number(),
    firstSeq: z.string().nullable(),
    lastSeq: z.string().nullable(),
    lastHash: z.string(),
  }),
  z.object({
    intact: z.literal(false),
    events: z.number(),
    firstBadSeq: z.string(),
    problem: z.string(),
    detail: z.string(),
  }),
]);

export type RemoteVerification = z.infer<typeof verificationSchema>;

export async function verifyOnServer(
  connection: Connection & { userAgent?: string },
): Promise<RemoteVerification> {
  const base = connection.baseUrl.endsWith('/') ? connection.baseUrl : `${connection.baseUrl}/`;
  const url = new URL('v1/audit/verify', base);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      headers: {
        accept: 'application/json, application/problem+json',
        authorization: `Bearer ${connection.apiKey}`,
        ...(connection.userAgent ? { 'user-agent': connection.userAgent } : {}),
      },
      redirect: 'error',
      // The server reads the whole chain before it answers (about 10 s per million events).
      signal: AbortSignal.timeout(15 * 60_000),
    });
    text = await response.text();
  } catch (error) {
    throw new ApiUnreachableError(connection.baseUrl, reasonOf(error));
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!response.ok) {
    throw new ApiResponseError('GET', url.pathname, response.status, problemOf(contentType, text), text);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = verificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new CliError(`GET ${url.pathname} answered with an unexpected body`, API_ERROR_EXIT_CODE);
  }
  return parsed.data;
}

/** The same lines as the database mode prints. */
export function verificationLines(result: RemoteVerification): string[] {
  return result.intact
    ? [`intact: ${result.events} events, last seq ${result.lastSeq ?? '-'}, last hash ${result.lastHash}`]
    : [
        `TAMPERED at seq ${result.firstBadSeq} (${result.problem}): ${result.detail}`,
        `${result.events} events before it verified`,
      ];
}
