// A local stand-in for Microsoft's login service (the bot's outbound tokens), over https as MSAL
// requires: `{authority}/v2.0/.well-known/openid-configuration` and a token endpoint that checks
// the client credentials grant (client id, secret, scope) and issues RS256 JWTs. Every token
// issued is recorded, so the fake channel accepts only those.
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { TestCertificate } from './test-certificate.ts';

export interface FakeTokenServiceOptions {
  certificate: TestCertificate;
  clientId: string;
  clientSecret: string;
  /** The scope's resource: requests must ask for `<scope>/.default`. */
  scope: string;
  /** Path segment after the host: "botframework.com" or a tenant id. */
  tenant?: string;
  /** Lifetime of issued tokens in seconds. */
  expiresInSeconds?: number;
}

export interface TokenRequestRecord {
  at: Date;
  form: Record<string, string>;
  /** 'issued' or the OAuth error answered. */
  outcome: string;
}

export interface FakeTokenService {
  /** The authority, i.e. what BOTFRAMEWORK_LOGIN_URL must be set to. */
  loginUrl: string;
  issued: string[];
  requests: TokenRequestRecord[];
  isIssued(token: string): boolean;
  /** Answer the next `count` token requests with an HTTP error. */
  failNext(count: number, status?: number): void;
  close(): Promise<void>;
}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startFakeTokenService(options: FakeTokenServiceOptions): Promise<FakeTokenService> {
  const tenant = options.tenant ?? 'botframework.com';
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'login-key', use: 'sig', alg: 'RS256' };
  const issued: string[] = [];
  const requests: TokenRequestRecord[] = [];
  let failures: number[] = [];
  let base = '';

  async function issue(form: Record<string, string>): Promise<[number, unknown]> {
    const fail = failures.shift();
    if (fail) return [fail, { error: 'temporarily_unavailable', error_description: 'injected failure' }];
    if (form['grant_type'] !== 'client_credentials') return [400, { error: 'unsupported_grant_type' }];
    if (form['client_id'] !== options.clientId || form['client_secret'] !== options.clientSecret) {
      return [401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret' }];
    }
    if (form['scope'] !== `${options.scope}/.default`) return [400, { error: 'invalid_scope' }];
    const expiresIn = options.expiresInSeconds ?? 3600;
    const token = await new SignJWT({ appid: options.clientId, tid: tenant })
      .setProtectedHeader({ alg: 'RS256', kid: 'login-key', typ: 'JWT' })
      .setIssuer(`${base}/${tenant}/v2.0`)
      .setAudience(options.scope)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${expiresIn}s`)
      .sign(privateKey);
    issued.push(token);
    return [
      200,
      { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token },
    ];
  }

  const server = https.createServer(
    { cert: options.certificate.cert, key: options.certificate.key },
    (req, res) => {
      void (async () => {
        const path = new URL(req.url ?? '/', base).pathname;
        const authority = `${base}/${tenant}`;
        if (req.method === 'GET' && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
          json(res, 200, {
            issuer: `${authority}/v2.0`,
            authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
            token_endpoint: `${authority}/oauth2/v2.0/token`,
            jwks_uri: `${authority}/discovery/v2.0/keys`,
            response_types_supported: ['code', 'token'],
            subject_types_supported: ['pairwise'],
            id_token_signing_alg_values_supported: ['RS256'],
          });
        } else if (req.method === 'GET' && path === `/${tenant}/discovery/v2.0/keys`) {
          json(res, 200, { keys: [publicJwk] });
        } else if (req.method === 'POST' && path === `/${tenant}/oauth2/v2.0/token`) {
          const form = await readForm(req);
          const [status, body] = await issue(form);
          requests.push({
            at: new Date(),
            form,
            outcome: status === 200 ? 'issued' : String((body as { error: string }).error),
          });
          json(res, status, body);
        } else {
          json(res, 404, { error: 'not_found', path });
        }
      })().catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    loginUrl: `${base}/${tenant}`,
    issued,
    requests,
    isIssued: (token) => issued.includes(token),
    failNext(count, status = 503) {
      failures = [...failures, ...Array<number>(count).fill(status)];
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
