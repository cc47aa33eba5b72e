// The web console from configuration: OpenID settings, the development sign-in, the session secret
// (COUNTERSIGN_SESSION_SECRET or the one stored in the database) and the session timeouts.
import type { Router } from 'express';
import type { Config } from '../config.ts';
import type { Deps } from '../deps.ts';
import { createWebRouter } from './create-web-router.ts';
import { loadSessionSecret } from './sessions/load-session-secret.ts';

export async function createWebConsole(config: Config, deps: Deps): Promise<Router> {
  // config.ts refuses an OpenID issuer without COUNTERSIGN_PUBLIC_URL.
  const oidc =
    config.COUNTERSIGN_OIDC_ISSUER && config.COUNTERSIGN_OIDC_CLIENT_ID && config.COUNTERSIGN_PUBLIC_URL
      ? {
          issuer: config.COUNTERSIGN_OIDC_ISSUER,
          clientId: config.COUNTERSIGN_OIDC_CLIENT_ID,
          clientSecret: config.COUNTERSIGN_OIDC_CLIENT_SECRET,
          redirectUri: new URL('/auth/callback', config.COUNTERSIGN_PUBLIC_URL).href,
        }
      : undefined;
  if (config.COUNTERSIGN_DEV_SIGNIN) {
    deps.log.warn(
      { host: config.HOST },
      'development sign-in is on: anyone can sign in to the console as anyone',
    );
  }
  deps.log.info(
    { oidc: oidc?.issuer ?? null, devSignin: config.COUNTERSIGN_DEV_SIGNIN },
    'web console enabled',
  );
  return createWebRouter(deps, {
    oidc,
    devSignin: config.COUNTERSIGN_DEV_SIGNIN,
    publicUrl: config.COUNTERSIGN_PUBLIC_URL,
    sessionSecret: await loadSessionSecret(deps.db.prisma, config.COUNTERSIGN_SESSION_SECRET),
    sessionIdleSeconds: config.COUNTERSIGN_SESSION_IDLE_S,
    sessionMaxSeconds: config.COUNTERSIGN_SESSION_MAX_S,
    signInPerMinute: config.COUNTERSIGN_SIGNIN_RATE_LIMIT,
  });
}
