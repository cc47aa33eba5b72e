// OpenID Connect sign-in (authorization code + PKCE, openid-client): builds the authorization URL
// and, on the callback, checks state, PKCE and the ID token, then reads the email claims. The
// provider's metadata is discovered on first use and kept, so a provider that is briefly down
// does not stop the server from starting.
import * as oidc from 'openid-client';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { OidcFlow } from '../sessions/web-user.ts';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  /** `/auth/callback` under COUNTERSIGN_PUBLIC_URL; never derived from a request's Host. */
  redirectUri: string;
}

export interface OidcIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  /** True only when the provider says `email_verified: true` (a boolean, nothing else). */
  emailVerified: boolean;
  name: string | null;
  /** The `groups` claim (ID token, else UserInfo); null when the provider sent none. */
  groups: string[] | null;
}

export interface OidcClient {
  start(now: Date): Promise<{ url: string; flow: OidcFlow }>;
  finish(callbackUrl: URL, flow: OidcFlow | undefined, now: Date): Promise<OidcIdentity>;
}

/** A sign-in left at the provider for longer than this must start again. */
const FLOW_MAX_AGE_MS = 10 * 60_000;

const claimsSchema = z.looseObject({
  sub: z.string(),
  email: z.string().optional(),
  email_verified: z.unknown().optional(),
  name: z.string().optional(),
  groups: z.unknown().optional(),
});

/** Bounds on what a `groups` claim may carry into the database. */
const MAX_GROUPS = 500;
const MAX_GROUP_NAME = 256;

/** The claim's group names, trimmed; entries that are not short strings are dropped, not guessed at. */
function groupsOf(claim: unknown): string[] | null {
  if (claim === undefined) return null;
  const list = Array.isArray(claim) ? claim : typeof claim === 'string' ? [claim] : [];
  const names = list
    .filter((g): g is string => typeof g === 'string')
    .map((g) => g.trim())
    .filter((g) => g.length > 0 && g.length <= MAX_GROUP_NAME);
  return [...new Set(names)].slice(0, MAX_GROUPS);
}

export function createOidcClient(settings: OidcSettings, log: Logger): OidcClient {
  let configuration: Promise<oidc.Configuration> | undefined;
  const discover = (): Promise<oidc.Configuration> => {
    configuration ??= oidc
      .discovery(
        new URL(settings.issuer),
        settings.clientId,
        undefined,
        settings.clientSecret === undefined ? oidc.None() : oidc.ClientSecretPost(settings.clientSecret),
        // config.ts allows http:// only for a loopback issuer (local providers in tests).
        new URL(settings.issuer).protocol === 'http:'
          ? { execute: [oidc.allowInsecureRequests], timeout: 10 }
          : { timeout: 10 },
      )
      .catch((error: unknown) => {
        configuration = undefined; // try again on the next sign-in
        log.error({ err: error, issuer: settings.issuer }, 'OpenID provider discovery failed');
        throw new AppError('SIGN_IN_FAILED', {
          detail: 'the sign-in provider cannot be reached; try again in a moment',
          cause: error,
        });
      });
    return configuration;
  };

  return {
    async start(now) {
      const config = await discover();
      const flow: OidcFlow = {
        state: oidc.randomState(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        nonce: oidc.randomNonce(),
        startedAt: now.toISOString(),
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: 'openid email profile',
        response_type: 'code',
        code_challenge: await oidc.calculatePKCECodeChallenge(flow.codeVerifier),
        code_challenge_method: 'S256',
        state: flow.state,
        nonce: flow.nonce,
      });
      return { url: url.href, flow };
    },

    async finish(callbackUrl, flow, now) {
      if (!flow || now.getTime() - Date.parse(flow.startedAt) > FLOW_MAX_AGE_MS) {
        throw new AppError('SIGN_IN_FAILED', {
          detail: 'this sign-in was not started in this browser session (or it timed out); sign in again',
        });
      }
      const config = await discover();
      // openid-client compares the callback with this exact redirect URI, so rebuild it from ours.
      const current = new URL(settings.redirectUri);
      current.search = callbackUrl.search;
      let tokens;
      try {
        tokens = await oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: flow.codeVerifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        log.warn({ err: error }, 'OpenID sign-in refused');
        throw new AppError('SIGN_IN_FAILED', {
          detail: `the sign-in could not be completed (${describe(error)}); sign in again`,
          cause: error,
        });
      }
      const idClaims = claimsSchema.parse(tokens.claims());
      // Many providers put email only in the UserInfo response for the code flow.
      const claims =
        idClaims.email !== undefined
          ? idClaims
          : claimsSchema.parse(await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub));
      return {
        issuer: config.serverMetadata().issuer,
        subject: idClaims.sub,
        email: claims.email?.trim().toLowerCase() || null,
        emailVerified: claims.email_verified === true,
        name: claims.name ?? null,
        groups: groupsOf(idClaims.groups ?? claims.groups),
      };
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof oidc.AuthorizationResponseError) return `the provider said ${error.error}`;
  if (error instanceof oidc.ResponseBodyError) return `the provider said ${error.error}`;
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return 'unexpected answer';
}
