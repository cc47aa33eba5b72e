// A real OpenID provider for console tests: panva's oidc-provider on a free loopback port, with a
// confidential client for the console and test accounts. Its login step signs in whichever
// account the test chose (signInAs) instead of showing a form; everything else — authorization
// codes, PKCE, state, ID token signatures, UserInfo — is the provider's own code.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ProviderContext } from 'oidc-provider';

export interface TestAccount {
  email?: string;
  emailVerified?: boolean;
  name?: string;
  /** Released as the `groups` claim (with the profile scope), as Okta or Entra are set up to. */
  groups?: string[];
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The server environment that points the console at this provider. */
  env: Record<string, string>;
  /** Creates the provider with the console's redirect URI (known once the console listens). */
  configure(redirectUri: string): void;
  /** The account the next login interaction signs in. */
  signInAs(accountId: string): void;
  close(): Promise<void>;
}

const SCOPES = 'openid email profile';

export async function startTestIdp(accounts: Record<string, TestAccount>): Promise<TestIdp> {
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
  let provider: Provider | undefined;
  let nextAccount: string | undefined;
  const server = http.createServer((req, res) => {
    if (!handler || !provider) {
      res.writeHead(503).end('identity provider not configured yet');
      return;
    }
    if (req.url?.startsWith('/interaction/')) {
      void finishInteraction(provider, req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
      return;
    }
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'countersign-console';
  const clientSecret = randomBytes(24).toString('hex');

  async function finishInteraction(p: Provider, req: http.IncomingMessage, res: http.ServerResponse) {
    const details = await p.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      if (!nextAccount) throw new Error('the test did not choose an account (signInAs)');
      await p.interactionFinished(
        req,
        res,
        { login: { accountId: nextAccount } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    throw new Error(`unexpected interaction prompt ${details.prompt.name}`);
  }

  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return {
    issuer,
    clientId,
    clientSecret,
    env: {
      COUNTERSIGN_OIDC_ISSUER: issuer,
      COUNTERSIGN_OIDC_CLIENT_ID: clientId,
      COUNTERSIGN_OIDC_CLIENT_SECRET: clientSecret,
    },
    configure(redirectUri) {
      provider = new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        jwks: { keys: [{ ...signingKey, kid: 'test-idp', use: 'sig', alg: 'RS256' }] },
        cookies: { keys: [randomBytes(16).toString('hex')] },
        scopes: ['openid', 'email', 'profile'],
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
        features: { devInteractions: { enabled: false } },
        pkce: { required: () => true },
        interactions: {
          url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
        },
        findAccount: (_ctx: unknown, id: string) => {
          const account = accounts[id];
          if (!account) return undefined;
          return {
            accountId: id,
            claims: () => ({
              sub: id,
              ...(account.email !== undefined ? { email: account.email } : {}),
              ...(account.emailVerified !== undefined ? { email_verified: account.emailVerified } : {}),
              ...(account.name !== undefined ? { name: account.name } : {}),
              ...(account.groups !== undefined ? { groups: account.groups } : {}),
            }),
          };
        },
        // First-party client: consent is implied, so the only interaction is the login.
        loadExistingGrant: async (ctx: ProviderContext) => {
          const clientOf = ctx.oidc.client?.clientId;
          const accountId = ctx.oidc.session?.accountId;
          if (!clientOf || !accountId) return undefined;
          const grant = new ctx.oidc.provider.Grant({ clientId: clientOf, accountId });
          grant.addOIDCScope(SCOPES);
          await grant.save();
          return grant;
        },
      });
      handler = provider.callback();
    },
    signInAs(accountId) {
      nextAccount = accountId;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
