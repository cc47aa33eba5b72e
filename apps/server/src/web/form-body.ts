// Body parsing for the console's forms (application/x-www-form-urlencoded, UTF-8 only): at most
// MAX_FORM_FIELDS fields and MAX_FORM_BYTES bytes (a reason at its limit in any script fits: 2,000
// CJK characters are about 18 KB once percent-encoded), % escapes that decode as UTF-8, a
// Content-Encoding the body matches, and no text Postgres cannot store (NUL, lone surrogates).
// Anything else is refused with a precise 4xx page before a route runs; nothing is repaired.
import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import { refuseHostileInput } from '../http/refuse-hostile-input.ts';

export const MAX_FORM_BYTES = 32 * 1024;
export const MAX_FORM_FIELDS = 20;

/** body-parser error type for a field whose % escapes are not UTF-8 (mapped in http/problem.ts). */
export const INVALID_FORM_ESCAPE = 'entity.form.escape.invalid';

const parseForm = express.urlencoded({
  extended: false,
  limit: MAX_FORM_BYTES,
  parameterLimit: MAX_FORM_FIELDS,
  type: 'application/x-www-form-urlencoded',
  // qs leaves an escape that does not decode as it was ("%FF"): refuse it instead.
  verify(_req, _res, buffer) {
    for (const part of buffer.toString('latin1').split('&')) {
      try {
        decodeURIComponent(part.replace(/\+/g, ' '));
      } catch {
        throw Object.assign(new Error('a form field is not valid percent-encoded UTF-8'), {
          type: INVALID_FORM_ESCAPE,
        });
      }
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

function isTooManyFields(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && 'type' in error && error.type === 'parameters.too.many'
  );
}

export function formBody(): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req.headers)) return next();
    if (!req.is('application/x-www-form-urlencoded')) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', {
        detail: 'console forms are sent as application/x-www-form-urlencoded',
      });
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', {
        detail: `console forms are sent as UTF-8, not ${charset}`,
      });
    }
    const encoded = (req.headers['content-encoding'] ?? 'identity').toLowerCase() !== 'identity';
    parseForm(req, res, (error?: unknown) => {
      if (error) {
        if (encoded && isDecompressionError(error)) {
          next(
            new AppError('CONTENT_ENCODING_INVALID', {
              detail: `the form does not decode as Content-Encoding ${req.headers['content-encoding'] ?? ''}`,
              cause: error,
            }),
          );
        } else if (isTooManyFields(error)) {
          next(
            new AppError('PAYLOAD_TOO_LARGE', {
              detail: `the form has more than ${MAX_FORM_FIELDS} fields`,
              cause: error,
            }),
          );
        } else {
          next(error);
        }
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
