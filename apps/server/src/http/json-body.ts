// Body parsing for routes that take JSON. It runs after authentication, so an anonymous caller
// learns nothing from body errors; bodies over 64 KiB are refused before they are buffered whole
// (after decompression too). Bytes that are not UTF-8, a Content-Encoding the body does not match,
// and hostile content (see refuse-hostile-input.ts) are refused, never silently repaired.
import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import { refuseHostileInput } from './refuse-hostile-input.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/** body-parser error type for a body whose bytes are not UTF-8 (mapped in problem.ts). */
export const INVALID_UTF8 = 'entity.utf8.invalid';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const parseJson = express.json({
  limit: MAX_BODY_BYTES,
  strict: true,
  type: 'application/json',
  // iconv would turn invalid bytes into U+FFFD without telling anyone.
  verify(_req, _res, buffer, encoding) {
    if (encoding !== 'utf-8' && encoding !== 'utf8') return;
    try {
      utf8.decode(buffer);
    } catch {
      throw Object.assign(new Error('the request body is not valid UTF-8'), { type: INVALID_UTF8 });
    }
  },
});

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** zlib's errors (and body-parser's wrapping of them) carry no body-parser `type`. */
function isDecompressionError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && !('type' in error && error.type !== undefined);
}

export function jsonBody(options: { required: boolean }): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req.headers)) {
      if (!options.required) return next();
      throw new AppError('VALIDATION_FAILED', {
        detail: 'the request body is missing',
        errors: [{ pointer: '/', message: 'a JSON object is required' }],
      });
    }
    if (!req.is('application/json')) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', { detail: 'send the body as application/json' });
    }
    const encoded = (req.headers['content-encoding'] ?? 'identity').toLowerCase() !== 'identity';
    parseJson(req, res, (error?: unknown) => {
      if (error) {
        if (encoded && isDecompressionError(error)) {
          next(
            new AppError('CONTENT_ENCODING_INVALID', {
              detail: `the request body does not decode as Content-Encoding ${req.headers['content-encoding'] ?? ''}`,
              cause: error,
            }),
          );
          return;
        }
        next(error);
        return;
      }
      try {
        refuseHostileInput(req.body, 'body');
      } catch (refused) {
        next(refused);
        return;
      }
      next();
    });
  };
}
