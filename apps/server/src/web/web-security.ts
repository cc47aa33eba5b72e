// The console's web defences: a strict Content-Security-Policy (no script at all, styles only from
// our own stylesheet, no framing), CSRF tokens (synchronizer pattern, csrf-sync) on every form
// post, and a rate limit on sign-in.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { csrfSync } from 'csrf-sync';
import { AppError } from '../errors.ts';

export const CSRF_FIELD = '_csrf';

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'same-origin' },
    xFrameOptions: { action: 'deny' },
  });
}

export interface Csrf {
  tokenFor(req: Request): string;
  /** Refuses a state-changing request whose form token does not match the session's. */
  require: RequestHandler;
}

export function createCsrf(): Csrf {
  const sync = csrfSync({
    getTokenFromState: (req) => req.session.csrfToken,
    storeTokenInState: (req, token) => {
      req.session.csrfToken = token;
    },
    getTokenFromRequest: (req) => {
      const body: unknown = req.body;
      if (typeof body !== 'object' || body === null || !(CSRF_FIELD in body)) return undefined;
      const value: unknown = (body as Record<string, unknown>)[CSRF_FIELD];
      return typeof value === 'string' ? value : undefined;
    },
  });
  return {
    tokenFor: (req) => sync.generateToken(req),
    require(req: Request, _res: Response, next: NextFunction) {
      if (!sync.isRequestValid(req)) {
        throw new AppError('CSRF_TOKEN_INVALID', {
          detail:
            'this form is missing its security token or it is out of date; reload the page and try again',
        });
      }
      next();
    },
  };
}

/** Sign-in attempts per client address and minute (per replica: the counter lives in memory). */
export function signInRateLimit(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, _res, next) => {
      next(
        new AppError('RATE_LIMITED', {
          detail: 'too many sign-in attempts from your address; wait a minute and try again',
        }),
      );
    },
  });
}
