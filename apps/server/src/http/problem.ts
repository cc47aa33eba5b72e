// The single error boundary: any thrown error becomes application/problem+json with the request id.
// Expected errors log at warn, unexpected ones at error with the stack.
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { asDatabaseUnavailable, DATABASE_RETRY_AFTER_SECONDS } from '../db/database-outage.ts';
import { AppError, ERROR_CODES, isAppError, type ErrorCode } from '../errors.ts';
import type { Problem } from './contracts/problem.ts';
import { INVALID_FORM_ESCAPE } from '../web/form-body.ts';
import { INVALID_UTF8 } from './json-body.ts';

export function problemBody(error: AppError, requestId: string): Problem {
  return {
    type: `urn:countersign:error:${error.code.toLowerCase()}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

/** body-parser's byte `limit` on entity.too.large, in KiB. */
function limitOf(error: object): string {
  return 'limit' in error && typeof error.limit === 'number' ? `${error.limit / 1024} KiB` : 'the limit';
}

/** body-parser reports its failures with a `type`; map the ones a client can cause. */
function fromBodyParser(error: unknown): AppError | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  const byType: Record<string, [ErrorCode, string]> = {
    'entity.parse.failed': ['MALFORMED_JSON', 'the request body is not valid JSON'],
    'entity.too.large': ['PAYLOAD_TOO_LARGE', `the request body is larger than ${limitOf(error)}`],
    'parameters.too.many': ['PAYLOAD_TOO_LARGE', 'the form has too many fields'],
    'encoding.unsupported': ['UNSUPPORTED_MEDIA_TYPE', 'the request body encoding is not supported'],
    'charset.unsupported': ['UNSUPPORTED_MEDIA_TYPE', 'the request body charset is not supported'],
    'request.aborted': ['MALFORMED_JSON', 'the request body was cut off'],
    'request.size.invalid': ['MALFORMED_REQUEST', 'the request body length does not match Content-Length'],
    [INVALID_UTF8]: ['MALFORMED_JSON', 'the request body is not valid UTF-8'],
    [INVALID_FORM_ESCAPE]: ['MALFORMED_REQUEST', 'a form field is not valid percent-encoded UTF-8'],
  };
  const match = typeof error.type === 'string' ? byType[error.type] : undefined;
  return match ? new AppError(match[0], { detail: match[1], cause: error }) : undefined;
}

/** The router's 400 for a path segment whose % escapes do not decode (decodeURIComponent). */
function fromPathDecoding(error: unknown): AppError | undefined {
  if (!(error instanceof URIError)) return undefined;
  return new AppError('MALFORMED_REQUEST', {
    detail: 'a path segment is not valid percent-encoded UTF-8',
    cause: error,
  });
}

function requestIdOf(req: Request): string {
  return typeof req.id === 'string' || typeof req.id === 'number' ? String(req.id) : 'unknown';
}

/** Any thrown error as the AppError a client sees: the client-caused ones by code, the rest INTERNAL. */
export function toAppError(error: unknown): AppError {
  return (
    (isAppError(error) ? error : undefined) ??
    fromBodyParser(error) ??
    fromPathDecoding(error) ??
    asDatabaseUnavailable(error) ??
    new AppError('INTERNAL', { detail: 'an unexpected error occurred', cause: error })
  );
}

export const problemHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  const appError = toAppError(error);
  if (appError.code === 'INTERNAL') req.log.error({ err: error }, 'request failed');
  else req.log.warn({ code: appError.code, detail: appError.detail }, 'request refused');
  if (appError.code === 'DATABASE_UNAVAILABLE')
    res.setHeader('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
  res
    .status(appError.status)
    .type('application/problem+json')
    .json(problemBody(appError, requestIdOf(req)));
};

export const routeNotFound: RequestHandler = (req) => {
  throw new AppError('ROUTE_NOT_FOUND', { detail: `no route for ${req.method} ${req.path}` });
};
