// Teams settings from the configuration: each cloud's presets, single-tenant login, every
// override, and Teams off without credentials.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';
import { isMicrosoftLoginUrl, resolveTeamsSettings } from './resolve-teams-settings.ts';

const credentials = { MICROSOFT_APP_ID: 'app-id', MICROSOFT_APP_PASSWORD: 'secret' };
const TENANT = '11111111-2222-4333-8444-555555555555';

const settingsFor = (env: Record<string, string>) =>
  resolveTeamsSettings(loadConfig({ ...credentials, ...env }));

describe('resolveTeamsSettings', () => {
  it('is undefined without an app id and password', () => {
    expect(resolveTeamsSettings(loadConfig({}))).toBeUndefined();
  });

  it('fills the public cloud by default', () => {
    expect(settingsFor({})).toEqual({
      appId: 'app-id',
      appPassword: 'secret',
      appType: 'MultiTenant',
      tenantId: undefined,
      cloud: 'public',
      loginUrl: 'https://login.microsoftonline.com/botframework.com',
      oauthScope: 'https://api.botframework.com',
      tokenIssuer: 'https://api.botframework.com',
      openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
      emulatorOpenIdMetadataUrl:
        'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
      oauthUrl: 'https://api.botframework.com',
      callerId: 'urn:botframework:azure',
      validateAuthority: true,
    });
  });

  it('logs a single-tenant bot in at its own tenant', () => {
    const settings = settingsFor({ MICROSOFT_APP_TYPE: 'SingleTenant', MICROSOFT_APP_TENANT_ID: TENANT });
    expect(settings).toMatchObject({ appType: 'SingleTenant', tenantId: TENANT });
    expect(settings?.loginUrl).toBe(`https://login.microsoftonline.com/${TENANT}`);
  });

  it('requires the tenant id for a single-tenant bot, naming the variable', () => {
    expect(() => settingsFor({ MICROSOFT_APP_TYPE: 'SingleTenant' })).toThrow(ConfigError);
    expect(() => settingsFor({ MICROSOFT_APP_TYPE: 'SingleTenant' })).toThrow(/MICROSOFT_APP_TENANT_ID/);
  });

  it.each([
    [
      'usgov',
      {
        loginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us',
        oauthScope: 'https://api.botframework.us',
        tokenIssuer: 'https://api.botframework.us',
        openIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
        oauthUrl: 'https://tokengcch.botframework.azure.us/',
        callerId: 'urn:botframework:azureusgov',
      },
    ],
    [
      'usgovdod',
      {
        loginUrl: 'https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us',
        oauthScope: 'https://api.botframework.us',
        tokenIssuer: 'https://api.botframework.us',
        openIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
        oauthUrl: 'https://apiDoD.botframework.azure.us',
      },
    ],
    [
      'china',
      {
        loginUrl: 'https://login.partner.microsoftonline.cn/microsoftservices.partner.onmschina.cn',
        oauthScope: 'https://api.botframework.azure.cn',
        tokenIssuer: 'https://api.botframework.azure.cn',
        openIdMetadataUrl: 'https://login.botframework.azure.cn/v1/.well-known/openidconfiguration',
        emulatorOpenIdMetadataUrl:
          'https://login.partner.microsoftonline.cn/a55a4d5b-9241-49b1-b4ff-befa8db00269/v2.0/.well-known/openid-configuration',
        oauthUrl: 'https://token.botframework.azure.cn/',
        callerId: undefined,
      },
    ],
  ] as const)('fills the %s cloud', (cloud, expected) => {
    const settings = settingsFor({ MICROSOFT_CLOUD: cloud });
    expect(settings).toMatchObject({ cloud, ...expected });
    expect(isMicrosoftLoginUrl(settings!.loginUrl)).toBe(true);
  });

  it('puts the tenant into a sovereign cloud login URL for a single-tenant bot', () => {
    const settings = settingsFor({
      MICROSOFT_CLOUD: 'china',
      MICROSOFT_APP_TYPE: 'SingleTenant',
      MICROSOFT_APP_TENANT_ID: TENANT,
    });
    expect(settings?.loginUrl).toBe(`https://login.partner.microsoftonline.cn/${TENANT}`);
  });

  it('lets each endpoint be overridden on its own', () => {
    const overrides = {
      BOTFRAMEWORK_LOGIN_URL: 'https://127.0.0.1:8443/botframework.com',
      BOTFRAMEWORK_OAUTH_SCOPE: 'https://api.botframework.test',
      BOTFRAMEWORK_TOKEN_ISSUER: 'https://issuer.test',
      BOTFRAMEWORK_OPENID_METADATA_URL: 'http://127.0.0.1:9000/v1/.well-known/openidconfiguration',
      BOTFRAMEWORK_EMULATOR_OPENID_METADATA_URL: 'http://127.0.0.1:9000/emulator',
      BOTFRAMEWORK_OAUTH_URL: 'http://127.0.0.1:9000/oauth',
      BOTFRAMEWORK_CALLER_ID: 'urn:botframework:test',
      BOTFRAMEWORK_VALIDATE_AUTHORITY: 'false',
    };
    const settings = settingsFor({ MICROSOFT_CLOUD: 'usgov', ...overrides });
    expect(settings).toMatchObject({
      cloud: 'usgov',
      loginUrl: overrides.BOTFRAMEWORK_LOGIN_URL,
      oauthScope: overrides.BOTFRAMEWORK_OAUTH_SCOPE,
      tokenIssuer: overrides.BOTFRAMEWORK_TOKEN_ISSUER,
      openIdMetadataUrl: overrides.BOTFRAMEWORK_OPENID_METADATA_URL,
      emulatorOpenIdMetadataUrl: overrides.BOTFRAMEWORK_EMULATOR_OPENID_METADATA_URL,
      oauthUrl: overrides.BOTFRAMEWORK_OAUTH_URL,
      callerId: overrides.BOTFRAMEWORK_CALLER_ID,
      validateAuthority: false,
    });
    expect(isMicrosoftLoginUrl(settings!.loginUrl)).toBe(false);
    // One override leaves the others at the cloud's presets.
    expect(
      settingsFor({ MICROSOFT_CLOUD: 'usgov', BOTFRAMEWORK_OAUTH_SCOPE: 'https://x.test' }),
    ).toMatchObject({
      oauthScope: 'https://x.test',
      tokenIssuer: 'https://api.botframework.us',
    });
  });

  it('refuses an unknown cloud and a bad override', () => {
    expect(() => settingsFor({ MICROSOFT_CLOUD: 'mars' })).toThrow(/MICROSOFT_CLOUD/);
    expect(() => settingsFor({ BOTFRAMEWORK_LOGIN_URL: 'not a url' })).toThrow(/BOTFRAMEWORK_LOGIN_URL/);
    expect(() => settingsFor({ BOTFRAMEWORK_VALIDATE_AUTHORITY: 'maybe' })).toThrow(
      /BOTFRAMEWORK_VALIDATE_AUTHORITY/,
    );
  });
});
