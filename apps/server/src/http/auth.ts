// Bearer-key authentication and scope checks for /v1 routes.
import type { RequestHandler, Response } from 'express';
import { AppError } from '../errors.ts';
import { authenticateApiKey, type Principal } from '../keys/authenticate-api-key.ts';
import { hasScope, type Scope } from '../keys/scopes.ts';
import type { Database } from '../db/client.ts';

interface AuthLocals {
  principal?: Principal;
}

export function requireScope(db: Database, scope: Scope): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (!header)
      throw new AppError('API_KEY_MISSING', { detail: 'send the API key as "Authorization: Bearer <key>"' });
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new AppError('API_KEY_INVALID', { detail: 'the Authorization header must be "Bearer <key>"' });
    }
    const principal = await authenticateApiKey(db, match[1]);
    if (!hasScope(principal.scopes, scope)) {
      throw new AppError('INSUFFICIENT_SCOPE', { detail: `this route needs the "${scope}" scope` });
    }
    (res.locals as AuthLocals).principal = principal;
    next();
  };
}

export function principalOf(res: Response): Principal {
  const principal = (res.locals as AuthLocals).principal;
  if (!principal) throw new Error('route reached without authentication');
  return principal;
}
