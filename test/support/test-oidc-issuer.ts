// A local OIDC issuer on 127.0.0.1 for workload identity tests: it serves its discovery document
// and JWKS as GitHub's and GitLab's issuers do, mints ID tokens with keys made by `jose`, and
// answers GitHub Actions' token request (ACTIONS_ID_TOKEN_REQUEST_URL with `&audience=`, bearer
// ACTIONS_ID_TOKEN_REQUEST_TOKEN, answer `{"value": "<jwt>"}`).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface MintOptions {
  audience?: string | string[];
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  notBefore?: number;
  /** Sign with a key the JWKS does not publish, under the published kid. */
  foreignKey?: boolean;
  kid?: string;
  issuer?: string;
}

export interface TestOidcIssuer {
  issuer: string;
  /** GitHub's ACTIONS_ID_TOKEN_REQUEST_URL (already carries a query string). */
  tokenRequestUrl: string;
  tokenRequestToken: string;
  /** Claims the token endpoint puts into the tokens it hands out. */
  runnerClaims: JWTPayload;
  /** Audiences asked for at the token endpoint, in order. */
  requestedAudiences: string[];
  /** Public key of the published RSA key, as a JWK (for the "HS256 signed with the public key" case). */
  publicJwk: JWK;
  mint(claims: JWTPayload, options?: MintOptions): Promise<string>;
  close(): Promise<void>;
}

export async function startTestOidcIssuer(runnerClaims: JWTPayload = {}): Promise<TestOidcIssuer> {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  const kid = 'test-rsa-1';
  const publicJwk = { ...(await exportJWK(rsa.publicKey)), kid, alg: 'RS256', use: 'sig' };
  const tokenRequestToken = `runner-${randomUUID()}`;
  const requestedAudiences: string[] = [];
  let issuer = '';

  const mint = async (claims: JWTPayload, options: MintOptions = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const key: CryptoKey = options.foreignKey ? foreign.privateKey : rsa.privateKey;
    const jwt = new SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? issuer)
      .setAudience(options.audience ?? 'countersign')
      .setIssuedAt(now - 5)
      .setExpirationTime(now + (options.expiresIn ?? 300));
    if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
    return jwt.sign(key);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      json(200, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (url.pathname === '/.well-known/jwks') {
      json(200, { keys: [publicJwk] });
    } else if (url.pathname === '/_apis/distributedtask/token') {
      if (req.headers.authorization !== `bearer ${tokenRequestToken}`) {
        json(401, { message: 'bad runner token' });
        return;
      }
      const audience = url.searchParams.get('audience') ?? '';
      requestedAudiences.push(audience);
      void mint(runnerClaims, audience ? { audience } : {}).then((value) => json(200, { count: 1, value }));
    } else {
      json(404, { message: 'not found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    tokenRequestUrl: `${issuer}/_apis/distributedtask/token?api-version=2.0`,
    tokenRequestToken,
    runnerClaims,
    requestedAudiences,
    publicJwk,
    mint,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The claims of a GitHub Actions run, as GitHub's tokens carry them (numbers as strings). */
export function githubClaims(actor: string, overrides: JWTPayload = {}): JWTPayload {
  return {
    sub: 'repo:acme/api:ref:refs/heads/main',
    actor,
    actor_id: '12',
    repository: 'acme/api',
    repository_owner: 'acme',
    workflow_ref: 'acme/api/.github/workflows/deploy.yml@refs/heads/main',
    run_id: '123',
    run_attempt: '1',
    ref: 'refs/heads/main',
    event_name: 'push',
    ...overrides,
  };
}

/** The claims of a GitLab CI job, as GitLab's tokens carry them. */
export function gitlabClaims(userEmail: string, overrides: JWTPayload = {}): JWTPayload {
  return {
    sub: 'project_path:acme/api:ref_type:branch:ref:main',
    user_email: userEmail,
    user_login: userEmail.split('@')[0],
    project_path: 'acme/api',
    pipeline_id: '456',
    job_id: '789',
    ref: 'main',
    ref_type: 'branch',
    ...overrides,
  };
}
