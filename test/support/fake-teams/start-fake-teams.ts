// Starts the whole local Microsoft side for a test: a self-signed certificate, the https token
// service and the Teams channel (OpenID/JWKS + connector), and gives the environment a server
// under test needs to use them with its verification on (BOTFRAMEWORK_* + MICROSOFT_APP_* +
// NODE_EXTRA_CA_CERTS, which must be set when that process starts).
import { startFakeTeamsChannel, type FakeTeamsChannel } from './fake-teams-channel.ts';
import { startFakeTokenService, type FakeTokenService } from './fake-token-service.ts';
import { createTestCertificate, type TestCertificate } from './test-certificate.ts';

export const FAKE_OAUTH_SCOPE = 'https://api.botframework.test';

export interface FakeTeams {
  appId: string;
  appPassword: string;
  certificate: TestCertificate;
  tokenService: FakeTokenService;
  channel: FakeTeamsChannel;
  /** Environment for the server under test (merge with DATABASE_URL etc.). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface StartFakeTeamsOptions {
  appId?: string;
  appPassword?: string;
  tenantId?: string;
  appType?: 'MultiTenant' | 'SingleTenant';
}

export async function startFakeTeams(options: StartFakeTeamsOptions = {}): Promise<FakeTeams> {
  const appId = options.appId ?? '5a1e0c9e-0000-4000-8000-00000000b07a';
  const appPassword = options.appPassword ?? 'fake-client-secret-~value';
  const certificate = await createTestCertificate();
  const tokenService = await startFakeTokenService({
    certificate,
    clientId: appId,
    clientSecret: appPassword,
    scope: FAKE_OAUTH_SCOPE,
    ...(options.tenantId && options.appType === 'SingleTenant' ? { tenant: options.tenantId } : {}),
  });
  const channel = await startFakeTeamsChannel({ appId, tokenService });
  const env: Record<string, string> = {
    MICROSOFT_APP_ID: appId,
    MICROSOFT_APP_PASSWORD: appPassword,
    MICROSOFT_APP_TYPE: options.appType ?? 'MultiTenant',
    ...(options.tenantId ? { MICROSOFT_APP_TENANT_ID: options.tenantId } : {}),
    BOTFRAMEWORK_LOGIN_URL: tokenService.loginUrl,
    BOTFRAMEWORK_OAUTH_SCOPE: FAKE_OAUTH_SCOPE,
    BOTFRAMEWORK_TOKEN_ISSUER: channel.issuer,
    BOTFRAMEWORK_OPENID_METADATA_URL: channel.openIdMetadataUrl,
    BOTFRAMEWORK_EMULATOR_OPENID_METADATA_URL: channel.openIdMetadataUrl,
    BOTFRAMEWORK_OAUTH_URL: `${channel.serviceUrl}oauth`,
    BOTFRAMEWORK_CALLER_ID: 'urn:botframework:azure',
    BOTFRAMEWORK_VALIDATE_AUTHORITY: 'false',
    NODE_EXTRA_CA_CERTS: certificate.certPath,
  };
  return {
    appId,
    appPassword,
    certificate,
    tokenService,
    channel,
    env,
    async close() {
      await channel.close();
      await tokenService.close();
      await certificate.remove();
    },
  };
}
