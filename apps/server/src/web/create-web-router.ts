// The web console: its own router, mounted by http/app.ts. Only console paths enter it (the API
// keeps its JSON error model); inside, every response gets the strict security headers, a
// Postgres-backed session, CSRF checks on posts and HTML error pages.
import { readFileSync } from 'node:fs';
import express, { type ErrorRequestHandler, type Router } from 'express';
import session from 'express-session';
import type { Deps } from '../deps.ts';
import { isAuditor } from '../approvals/can-see-request.ts';
import { ERROR_CODES } from '../errors.ts';
import { toAppError } from '../http/problem.ts';
import { formBody } from './form-body.ts';
import { createOidcClient, type OidcSettings } from './oidc/oidc-client.ts';
import { renderPage } from './render-page.ts';
import { mountAuditRoutes } from './routes/audit-routes.ts';
import { mountDelegationRoutes } from './routes/delegation-routes.ts';
import { mountRequestRoutes } from './routes/request-routes.ts';
import { mountSignInRoutes, SESSION_COOKIE } from './routes/sign-in-routes.ts';
import { PrismaSessionStore } from './sessions/prisma-session-store.ts';
import { absoluteTimeout } from './sessions/web-user.ts';
import type { WebContext } from './web-context.ts';
import { createCsrf, securityHeaders, signInRateLimit } from './web-security.ts';

export interface WebConsoleOptions {
  oidc: OidcSettings | undefined;
  devSignin: boolean;
  publicUrl: string | undefined;
  sessionSecret: string;
  sessionIdleSeconds: number;
  sessionMaxSeconds: number;
  signInPerMinute: number;
}

const FORM_PATHS = [
  '/auth/dev',
  '/auth/signout',
  '/requests/:id/approve',
  '/requests/:id/deny',
  '/requests/:id/break-glass-review',
  '/delegation',
  '/delegation/remove',
];
const WEB_PATH = /^\/(?:$|signin$|auth\/|requests(?:\/|$)|delegation(?:\/|$)|audit(?:\/|$)|console\/)/;
const STYLESHEET = readFileSync(new URL('./views/console.css', import.meta.url), 'utf8');

export function createWebRouter(deps: Deps, options: WebConsoleOptions): Router {
  const router = express.Router();
  // Leave every other path (the API, chat endpoints) untouched.
  router.use((req, _res, next) => next(WEB_PATH.test(req.path) ? undefined : 'router'));
  router.use(securityHeaders());
  router.get('/console/console.css', (_req, res) => {
    res.type('css').setHeader('Cache-Control', 'public, max-age=300');
    res.send(STYLESHEET);
  });

  const https = options.publicUrl?.startsWith('https:') ?? false;
  router.use(
    session({
      name: SESSION_COOKIE,
      secret: options.sessionSecret,
      store: new PrismaSessionStore(deps.db.prisma, deps.clock, options.sessionIdleSeconds),
      resave: false,
      saveUninitialized: false,
      rolling: true,
      // Behind a TLS proxy (an https public URL) trust its X-Forwarded-Proto; else Secure only on https requests.
      proxy: https,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: https ? true : 'auto',
        maxAge: options.sessionIdleSeconds * 1000,
        path: '/',
      },
    }),
  );
  router.use(absoluteTimeout(deps.clock, options.sessionMaxSeconds));
  // Only the console's own forms: any other post keeps falling through to the API's 404.
  router.post(FORM_PATHS, formBody());

  const csrf = createCsrf();
  const settings = {
    devSignin: options.devSignin,
    oidc: options.oidc ? createOidcClient(options.oidc, deps.log) : undefined,
    publicUrl: options.publicUrl,
  };
  const ctx: WebContext = {
    deps,
    settings,
    csrf,
    signInLimit: signInRateLimit(options.signInPerMinute),
    page: (req, res, view, data, status) =>
      renderPage(
        req,
        res,
        {
          devSignin: settings.devSignin,
          isAuditor: (email) => isAuditor(deps.policy, email),
          csrfToken: (r) => csrf.tokenFor(r),
        },
        view,
        data,
        status,
      ),
  };
  mountSignInRoutes(router, ctx);
  mountRequestRoutes(router, ctx);
  mountDelegationRoutes(router, ctx);
  mountAuditRoutes(router, ctx);
  router.use(webErrorPage(ctx));
  return router;
}

/** Errors on console paths become HTML pages; a page that needs sign-in sends the browser there. */
function webErrorPage(ctx: WebContext): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const appError = toAppError(error);
    if (appError.code === 'INTERNAL') req.log.error({ err: error }, 'console request failed');
    else req.log.warn({ code: appError.code, detail: appError.detail }, 'console request refused');
    if (appError.code === 'SIGN_IN_REQUIRED' && req.method === 'GET') {
      res.redirect(303, '/signin');
      return;
    }
    if (appError.code === 'RATE_LIMITED') res.setHeader('Retry-After', '60');
    ctx.page(
      req,
      res,
      'error',
      { title: ERROR_CODES[appError.code].title, code: appError.code, detail: appError.detail },
      appError.status,
    );
  };
}
