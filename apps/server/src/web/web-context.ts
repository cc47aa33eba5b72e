// What every console route receives: the domain's dependencies, the sign-in settings, the CSRF
// guard and the page renderer.
import type { Request, RequestHandler, Response } from 'express';
import type { Deps } from '../deps.ts';
import type { OidcClient } from './oidc/oidc-client.ts';
import type { Csrf } from './web-security.ts';

export interface WebSettings {
  devSignin: boolean;
  oidc: OidcClient | undefined;
  /** COUNTERSIGN_PUBLIC_URL (required with OpenID sign-in, which builds its redirect URI from it). */
  publicUrl: string | undefined;
}

export interface WebContext {
  deps: Deps;
  settings: WebSettings;
  csrf: Csrf;
  signInLimit: RequestHandler;
  page(
    req: Request,
    res: Response,
    view: string,
    data: Record<string, unknown> & { title: string; nav?: string },
    status?: number,
  ): void;
}

export function isSignInConfigured(settings: WebSettings): boolean {
  return settings.devSignin || settings.oidc !== undefined;
}
