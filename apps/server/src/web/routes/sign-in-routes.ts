// Sign-in and sign-out: the sign-in page, the OpenID Connect round trip (/auth/login →
// provider → /auth/callback), the development sign-in form (/auth/dev) and /auth/signout.
import type { Router } from 'express';
import { z } from 'zod';
import { appendAuditEvent } from '../../audit/append-event.ts';
import { inTransaction } from '../../db/transaction.ts';
import { AppError } from '../../errors.ts';
import { whyNotDirectLoopback } from '../is-direct-loopback-request.ts';
import { sessionCall, signInUser, signOutUser } from '../sign-in-user.ts';
import { recordOidcGroups } from '../../directory/oidc-group-claims.ts';
import { isSignInConfigured, type WebContext } from '../web-context.ts';

export const SESSION_COOKIE = 'countersign_session';

const devSignInForm = z.object({ email: z.email().max(320), _csrf: z.string().optional() });

export function mountSignInRoutes(router: Router, ctx: WebContext): void {
  router.get('/signin', (req, res) => {
    if (req.session.user) {
      res.redirect(303, '/');
      return;
    }
    if (!isSignInConfigured(ctx.settings)) {
      ctx.page(req, res, 'setup', { title: 'Set up sign-in' });
      return;
    }
    ctx.page(req, res, 'signin', {
      title: 'Sign in',
      oidc: ctx.settings.oidc !== undefined,
      devSigninForm: ctx.settings.devSignin,
    });
  });

  router.get('/auth/login', ctx.signInLimit, async (req, res) => {
    const oidc = ctx.settings.oidc;
    if (!oidc) throw new AppError('ROUTE_NOT_FOUND', { detail: 'OpenID Connect sign-in is not configured' });
    const { url, flow } = await oidc.start(ctx.deps.clock.now());
    req.session.oidcFlow = flow;
    await sessionCall((done) => req.session.save(done));
    res.redirect(303, url);
  });

  router.get('/auth/callback', ctx.signInLimit, async (req, res) => {
    const oidc = ctx.settings.oidc;
    if (!oidc) throw new AppError('ROUTE_NOT_FOUND', { detail: 'OpenID Connect sign-in is not configured' });
    const flow = req.session.oidcFlow;
    delete req.session.oidcFlow; // one use, whatever happens next
    const callbackUrl = new URL(req.originalUrl, 'http://callback.invalid');
    const identity = await oidc.finish(callbackUrl, flow, ctx.deps.clock.now());
    if (!identity.email || !identity.emailVerified) {
      const detail = identity.email ? 'email_not_verified' : 'email_missing';
      await inTransaction(ctx.deps.db, (tx) =>
        appendAuditEvent(
          tx,
          {
            type: 'session.refused',
            actor: `oidc:${identity.subject}`,
            payload: {
              reason: 'identity_unresolved',
              detail,
              issuer: identity.issuer,
              subject: identity.subject,
              email: identity.email,
            },
          },
          ctx.deps.clock.now(),
        ),
      );
      throw new AppError('IDENTITY_UNRESOLVED', {
        detail:
          detail === 'email_missing'
            ? 'your sign-in provider did not give an email address, so you cannot use the console'
            : 'your sign-in provider has not verified your email address, so it cannot count as your identity',
      });
    }
    if (identity.groups !== null) {
      const { email, groups } = identity;
      await inTransaction(ctx.deps.db, (tx) => recordOidcGroups(tx, email, groups, ctx.deps.clock.now()));
    }
    await signInUser(ctx.deps, req, {
      email: identity.email,
      name: identity.name,
      method: 'oidc',
      issuer: identity.issuer,
      subject: identity.subject,
    });
    res.redirect(303, '/');
  });

  router.post('/auth/dev', ctx.signInLimit, ctx.csrf.require, async (req, res) => {
    if (!ctx.settings.devSignin)
      throw new AppError('ROUTE_NOT_FOUND', { detail: 'the development sign-in is not enabled' });
    const notLocal = whyNotDirectLoopback({ remoteAddress: req.socket.remoteAddress, headers: req.headers });
    if (notLocal) {
      throw new AppError('DEV_SIGNIN_NOT_LOCAL', {
        detail: `the development sign-in only answers a browser on this machine, and ${notLocal}`,
      });
    }
    const form = devSignInForm.safeParse(req.body);
    if (!form.success) {
      throw new AppError('VALIDATION_FAILED', {
        detail: 'type an email address to sign in as',
        errors: [{ pointer: '/email', message: 'not an email address' }],
      });
    }
    await signInUser(ctx.deps, req, {
      email: form.data.email.trim().toLowerCase(),
      name: null,
      method: 'dev',
      issuer: null,
      subject: null,
    });
    res.redirect(303, '/');
  });

  router.post('/auth/signout', ctx.csrf.require, async (req, res) => {
    await signOutUser(ctx.deps, req);
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.redirect(303, '/signin');
  });
}
