// Renders console pages with Eta (auto-escaping on: `<%= %>` escapes every value; nothing from a
// request is ever written with the raw `<%~ %>` tag) inside the shared layout.
import { fileURLToPath } from 'node:url';
import type { Request, Response } from 'express';
import { Eta } from 'eta';
import { formatters } from './format-values.ts';
import type { WebUser } from './sessions/web-user.ts';

const VIEWS = fileURLToPath(new URL('./views', import.meta.url));

export const eta = new Eta({ views: VIEWS, cache: true, autoEscape: true });

export interface PageSettings {
  devSignin: boolean;
  /** Whether this signed-in email may open Audit (the navigation shows the link only then). */
  isAuditor: (email: string) => boolean;
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
  /** A refused deny reason, shown again in its form (line breaks as LF, as a textarea holds them). */
  draft?: string;
}

declare module 'express-session' {
  interface SessionData {
    flash?: Flash;
  }
}

export interface PageChrome {
  title: string;
  user: WebUser | null;
  devSignin: boolean;
  csrfToken: string;
  flash: Flash | null;
  nav: string;
  /** Show the Audit link: the user is in the policy group `auditors`. */
  showAudit: boolean;
  fmt: typeof formatters;
}

export type CsrfTokenFor = (req: Request) => string;

/** Renders `view` with the layout; takes and clears the session's one-time message. */
export function renderPage(
  req: Request,
  res: Response,
  settings: PageSettings & { csrfToken: CsrfTokenFor },
  view: string,
  data: Record<string, unknown> & { title: string; nav?: string },
  status = 200,
): void {
  const flash = req.session.flash ?? null;
  if (flash) delete req.session.flash;
  const user = req.session.user ?? null;
  const chrome: PageChrome = {
    title: data.title,
    user,
    devSignin: settings.devSignin,
    csrfToken: settings.csrfToken(req),
    flash,
    nav: data.nav ?? '',
    showAudit: user !== null && settings.isAuditor(user.email),
    fmt: formatters,
  };
  const html = eta.render(`./${view}`, { ...data, ...chrome });
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(html);
}
