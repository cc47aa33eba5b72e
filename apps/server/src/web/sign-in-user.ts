// Starts and ends console sessions. A sign-in gets a fresh session id (no fixation) and a public
// reference that the audit trail and every decision of the session carry.
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { appendAuditEvent } from '../audit/append-event.ts';
import { inTransaction } from '../db/transaction.ts';
import type { Deps } from '../deps.ts';
import { sessionRefOf, type WebUser } from './sessions/web-user.ts';

export interface SignInIdentity {
  email: string;
  name: string | null;
  method: 'oidc' | 'dev';
  issuer: string | null;
  subject: string | null;
}

/** express-session's callback API as a promise. */
export function sessionCall(run: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    run((error) => {
      if (!error) resolve();
      else reject(error instanceof Error ? error : new Error('session store failed', { cause: error }));
    });
  });
}

export async function signInUser(deps: Deps, req: Request, identity: SignInIdentity): Promise<WebUser> {
  const now = deps.clock.now();
  await sessionCall((done) => req.session.regenerate(done));
  const user: WebUser = { ...identity, ref: randomUUID(), signedInAt: now.toISOString() };
  req.session.user = user;
  await inTransaction(deps.db, (tx) =>
    appendAuditEvent(
      tx,
      {
        type: 'session.signed_in',
        actor: user.email,
        payload: {
          session: sessionRefOf(user),
          method: user.method,
          issuer: user.issuer,
          subject: user.subject,
        },
      },
      now,
    ),
  );
  await sessionCall((done) => req.session.save(done));
  return user;
}

export async function signOutUser(deps: Deps, req: Request): Promise<void> {
  const user = req.session.user;
  if (user) {
    await inTransaction(deps.db, (tx) =>
      appendAuditEvent(
        tx,
        { type: 'session.signed_out', actor: user.email, payload: { session: sessionRefOf(user) } },
        deps.clock.now(),
      ),
    );
  }
  await sessionCall((done) => req.session.destroy(done));
}
