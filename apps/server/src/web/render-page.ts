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
  const chrome: PageChrome = {
    title: data.title,
    user: req.session.user ?? null,
    devSignin: settings.devSignin,
    csrfToken: settings.csrfToken(req),
    flash,
    nav: data.nav ?? '',
    fmt: formatters,
  };
  const html = eta.render(`./${view}`, { ...data, ...chrome });
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(html);
}
