// Tells the card outbox what a failed Teams call means: wait and retry (throttled: 429 with
// Retry-After; 412, 502 and 504 are Teams' other "try again" answers), give up for good (bot
// removed: 403 BotNotInConversationRoster, conversation gone: 404, card refused: 400, or no
// stored reference), or retry later (network, 5xx, token service down).
import { z } from 'zod';

export type TeamsErrorClass =
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'refused'; error: string }
  | { kind: 'transient' };

/** Thrown by the transport when the conversation cannot be posted to at all. */
export class TeamsConversationUnavailableError extends Error {
  constructor(
    readonly conversationId: string,
    readonly reason: 'not_installed' | 'removed',
  ) {
    super(`Teams conversation ${conversationId} is ${reason === 'removed' ? 'removed' : 'not installed'}`);
    this.name = 'TeamsConversationUnavailableError';
  }
}

/** Used when a throttling answer carries no usable Retry-After. */
const DEFAULT_RETRY_AFTER_S = { 429: 1, 412: 1, 502: 2, 504: 2 } as const;

// botframework-connector's RestError: statusCode, code, and the HTTP response with headers and body.
const restErrorSchema = z.looseObject({
  statusCode: z.number().optional(),
  code: z.unknown().optional(),
  message: z.string().optional(),
  response: z
    .looseObject({
      status: z.number().optional(),
      headers: z.unknown().optional(),
      bodyAsText: z.string().nullish(),
      parsedBody: z.unknown().optional(),
    })
    .optional(),
});

const errorBodySchema = z.looseObject({ error: z.looseObject({ code: z.string().optional() }) });

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  if ('get' in headers && typeof headers.get === 'function') {
    const value: unknown = (headers as { get(n: string): unknown }).get(name);
    return typeof value === 'string' ? value : undefined;
  }
  const value: unknown = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

function errorCode(error: z.infer<typeof restErrorSchema>): string | undefined {
  if (typeof error.code === 'string' && error.code) return error.code;
  const bodies: unknown[] = [error.response?.parsedBody];
  try {
    if (error.response?.bodyAsText) bodies.push(JSON.parse(error.response.bodyAsText));
  } catch {
    // not JSON: no code
  }
  for (const body of bodies) {
    const parsed = errorBodySchema.safeParse(body);
    if (parsed.success && parsed.data.error.code) return parsed.data.error.code;
  }
  return undefined;
}

export function classifyTeamsError(error: unknown): TeamsErrorClass {
  if (error instanceof TeamsConversationUnavailableError) {
    return { kind: 'refused', error: `conversation_${error.reason}` };
  }
  const parsed = restErrorSchema.safeParse(error);
  if (!parsed.success) return { kind: 'transient' };
  const status = parsed.data.statusCode ?? parsed.data.response?.status;
  if (status === 429 || status === 412 || status === 502 || status === 504) {
    const retryAfter = parseRetryAfter(headerValue(parsed.data.response?.headers, 'retry-after'));
    return { kind: 'rate_limited', retryAfterSeconds: retryAfter ?? DEFAULT_RETRY_AFTER_S[status] };
  }
  if (status === 403 || status === 404 || status === 400) {
    return { kind: 'refused', error: errorCode(parsed.data) ?? `http_${status}` };
  }
  return { kind: 'transient' };
}
