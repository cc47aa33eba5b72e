// Body parsing for routes that take JSON. It runs after authentication, so an anonymous caller
// learns nothing from body errors; bodies over 64 KiB are refused before they are buffered whole.
import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.ts';

export const MAX_BODY_BYTES = 64 * 1024;

const parseJson = express.json({ limit: MAX_BODY_BYTES, strict: true, type: 'application/json' });

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
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
    return parseJson(req, res, next);
  };
}
