// Verifies a workload identity token (Countersign-Identity-Token) with `jose`: the issuer must be
// one the policy trusts (matched exactly on `iss`), the signature must verify against that
// issuer's JWKS (found through its OpenID discovery document), with an asymmetric algorithm only,
// for the configured audience, within exp/nbf (a minute of skew). The requester comes from the
// configured claim; a login the policy does not map to an email is refused, never guessed.
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { RequesterProof } from '../receipts/requester-proof.ts';
import { AppError } from '../errors.ts';
import type { IdentityIssuer } from './identity-issuers.ts';

/** What a verified workload identity token proves (the proof minus the key that presented it). */
export type WorkloadClaims = Omit<Extract<RequesterProof, { kind: 'workload' }>, 'kind' | 'keyName'>;

export interface VerifiedWorkload {
  /** The requester's email, read from the token or mapped from its login by the policy. */
  email: string;
  claims: WorkloadClaims;
}

/** Asymmetric algorithms only: never `none`, never HS* (a public key must not become an HMAC secret). */
export const IDENTITY_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
/** Tolerated clock difference with the issuer, for exp, nbf and iat. */
export const IDENTITY_CLOCK_SKEW_SECONDS = 60;
const FETCH_TIMEOUT_MS = 10_000;

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.url({ protocol: /^https?$/ }) });
const emailSchema = z.email();

type KeySet = ReturnType<typeof createRemoteJWKSet>;
/** Per issuer URL: its key set (jose caches the keys and refetches on an unknown kid, with a cooldown). */
const keySets = new Map<string, Promise<KeySet>>();

function refuse(
  code:
    | 'IDENTITY_TOKEN_INVALID'
    | 'IDENTITY_TOKEN_EXPIRED'
    | 'IDENTITY_AUDIENCE_MISMATCH'
    | 'IDENTITY_ISSUER_UNKNOWN',
  detail: string,
): AppError {
  return new AppError(code, {
    detail,
    errors: [{ pointer: '/headers/countersign-identity-token', message: detail }],
  });
}

async function discoverKeySet(issuer: string): Promise<KeySet> {
  const url = new URL('.well-known/openid-configuration', issuer.endsWith('/') ? issuer : `${issuer}/`);
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  const discovery = discoverySchema.parse(await response.json());
  if (discovery.issuer !== issuer) {
    throw new Error(`the discovery document names issuer ${discovery.issuer}, not ${issuer}`);
  }
  return createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: FETCH_TIMEOUT_MS });
}

function keySetOf(issuer: string): Promise<KeySet> {
  let keySet = keySets.get(issuer);
  if (!keySet) {
    keySet = discoverKeySet(issuer);
    keySets.set(issuer, keySet);
    // A failed discovery is not remembered: the next token tries again.
    keySet.catch(() => keySets.delete(issuer));
  }
  return keySet;
}

function claimText(payload: JWTPayload, claim: string | undefined): string | undefined {
  if (claim === undefined) return undefined;
  const value = payload[claim];
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

export async function verifyIdentityToken(
  issuers: readonly IdentityIssuer[],
  token: string,
  now: Date,
): Promise<VerifiedWorkload> {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    throw refuse('IDENTITY_TOKEN_INVALID', 'the identity token is not a well-formed JWT');
  }
  const config = issuers.find((candidate) => candidate.issuer === unverified.iss);
  if (!config) {
    throw refuse(
      'IDENTITY_ISSUER_UNKNOWN',
      `the identity token's issuer ${JSON.stringify(unverified.iss ?? null)} is not one the policy trusts (identity.issuers)`,
    );
  }
  let keySet: KeySet;
  try {
    keySet = await keySetOf(config.issuer);
  } catch (error) {
    throw new AppError('IDENTITY_ISSUER_UNREACHABLE', {
      detail: `cannot read the signing keys of ${config.issuer}: ${error instanceof Error ? error.message : String(error)}`,
      cause: error,
    });
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keySet, {
      issuer: config.issuer,
      audience: config.audience,
      algorithms: IDENTITY_TOKEN_ALGORITHMS,
      clockTolerance: IDENTITY_CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp', 'sub'],
      currentDate: now,
    }));
  } catch (error) {
    throw verificationProblem(error, config);
  }
  return workloadFrom(config, payload);
}

function verificationProblem(error: unknown, config: IdentityIssuer): AppError {
  if (error instanceof errors.JWTExpired)
    return refuse('IDENTITY_TOKEN_EXPIRED', 'the identity token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') {
      return refuse(
        'IDENTITY_AUDIENCE_MISMATCH',
        `the identity token is not for audience ${config.audience}`,
      );
    }
    if (error.claim === 'nbf' || error.claim === 'iat') {
      return refuse('IDENTITY_TOKEN_EXPIRED', `the identity token is not valid yet (${error.claim})`);
    }
    return refuse('IDENTITY_TOKEN_INVALID', `the identity token's "${error.claim}" claim: ${error.reason}`);
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
    return new AppError('IDENTITY_ISSUER_UNREACHABLE', {
      detail: `cannot read the signing keys of ${config.issuer}: ${error.message}`,
      cause: error,
    });
  }
  if (error instanceof errors.JOSEError) {
    return refuse('IDENTITY_TOKEN_INVALID', `the identity token does not verify: ${error.message}`);
  }
  throw error;
}

function workloadFrom(config: IdentityIssuer, payload: JWTPayload): VerifiedWorkload {
  const named = claimText(payload, config.claims.requester);
  if (named === undefined) {
    throw new AppError('IDENTITY_UNMAPPED', {
      detail: `the identity token has no "${config.claims.requester}" claim to name the requester`,
    });
  }
  const mapped = config.map.get(named.toLowerCase());
  const email = mapped ?? (emailSchema.safeParse(named).success ? named.toLowerCase() : undefined);
  if (email === undefined) {
    throw new AppError('IDENTITY_UNMAPPED', {
      detail: `${config.provider} login "${named}" is not mapped to an email (identity.issuers map); it is never guessed`,
    });
  }
  const login = claimText(payload, config.claims.login);
  const repository = claimText(payload, config.claims.repository);
  const workflow = claimText(payload, config.claims.workflow);
  const runId = claimText(payload, config.claims.runId);
  return {
    email,
    claims: {
      provider: config.provider,
      issuer: config.issuer,
      subject: payload.sub ?? '',
      ...(login !== undefined ? { login } : {}),
      ...(repository !== undefined ? { repository } : {}),
      ...(workflow !== undefined ? { workflow } : {}),
      ...(runId !== undefined ? { runId } : {}),
    },
  };
}
