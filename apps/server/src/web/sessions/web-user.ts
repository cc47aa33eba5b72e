// Who is signed in, as the session holds it, and the middleware that enforces the absolute timeout.
import type { NextFunction, Request, Response } from 'express';
import type { Clock } from '../../deps.ts';
import type { WebSessionRef } from '../../audit/event-types.ts';
import { AppError } from '../../errors.ts';

export interface WebUser {
  /** The verified email (OIDC) or the typed one (development sign-in), lower-cased. */
  email: string;
  name: string | null;
  method: 'oidc' | 'dev';
  issuer: string | null;
  subject: string | null;
  /** A public reference to this session for the audit trail; never the cookie's session id. */
  ref: string;
  signedInAt: string;
}

/** An OpenID sign-in under way: what the callback must match. */
export interface OidcFlow {
  state: string;
  codeVerifier: string;
  nonce: string;
  startedAt: string;
}

declare module 'express-session' {
  interface SessionData {
    user?: WebUser;
    oidcFlow?: OidcFlow;
    csrfToken?: string | null | undefined;
  }
}

export function sessionRefOf(user: WebUser): WebSessionRef {
  return { ref: user.ref, devSignin: user.method === 'dev' };
}

/** Drops a session past its absolute lifetime, whatever its activity (the idle timeout is the store's). */
export function absoluteTimeout(clock: Clock, maxSeconds: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const user = req.session.user;
    if (!user || clock.now().getTime() - Date.parse(user.signedInAt) <= maxSeconds * 1000) {
      next();
      return;
    }
    req.session.regenerate((error) => next(error));
  };
}

/** The signed-in person, or SIGN_IN_REQUIRED. */
export function userOf(req: Request): WebUser {
  const user = req.session.user;
  if (!user) throw new AppError('SIGN_IN_REQUIRED', { detail: 'sign in to use the console' });
  return user;
}
