// Turns the configuration into the Bot Framework settings the Teams adapter needs: the chosen
// Microsoft cloud's endpoints, each overridable one by one (sovereign clouds, local test doubles).
import type { Config } from '../../config.ts';

export type MicrosoftCloud = 'public' | 'usgov' | 'usgovdod' | 'china';
export type MicrosoftAppType = 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';

export interface TeamsSettings {
  appId: string;
  appPassword: string;
  appType: MicrosoftAppType;
  /** Tenant of the app registration; also the only tenant whose users may act when set. */
  tenantId: string | undefined;
  cloud: MicrosoftCloud;
  /** Authority the bot gets its outbound tokens from (tenant included). */
  loginUrl: string;
  /** Audience of outbound tokens (requested as `<scope>/.default`). */
  oauthScope: string;
  /** `iss` every inbound channel token must carry. */
  tokenIssuer: string;
  /** OpenID metadata whose JWKS signs inbound channel tokens. */
  openIdMetadataUrl: string;
  emulatorOpenIdMetadataUrl: string;
  /** Bot Framework token service (user OAuth); not used by Countersign, set for completeness. */
  oauthUrl: string;
  callerId: string | undefined;
  validateAuthority: boolean;
}

interface CloudPreset {
  loginHost: string;
  /** The tenant a multi-tenant bot logs in at. */
  defaultLoginTenant: string;
  oauthScope: string;
  tokenIssuer: string;
  openIdMetadataUrl: string;
  emulatorOpenIdMetadataUrl: string;
  oauthUrl: string;
  callerId: string | undefined;
}

// Values from Microsoft's "configure a bot for <cloud>" pages and botframework-connector's constants.
const US_GOV_BASE = {
  loginHost: 'https://login.microsoftonline.us',
  defaultLoginTenant: 'MicrosoftServices.onmicrosoft.us',
  oauthScope: 'https://api.botframework.us',
  tokenIssuer: 'https://api.botframework.us',
  openIdMetadataUrl: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
  emulatorOpenIdMetadataUrl:
    'https://login.microsoftonline.us/cab8a31a-1906-4287-a0d8-4eef66b95f6e/v2.0/.well-known/openid-configuration',
  callerId: 'urn:botframework:azureusgov',
};

export const CLOUD_PRESETS: Record<MicrosoftCloud, CloudPreset> = {
  public: {
    loginHost: 'https://login.microsoftonline.com',
    defaultLoginTenant: 'botframework.com',
    oauthScope: 'https://api.botframework.com',
    tokenIssuer: 'https://api.botframework.com',
    openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
    emulatorOpenIdMetadataUrl:
      'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
    oauthUrl: 'https://api.botframework.com',
    callerId: 'urn:botframework:azure',
  },
  // Office 365 GCC High (Teams in Azure Government).
  usgov: { ...US_GOV_BASE, oauthUrl: 'https://tokengcch.botframework.azure.us/' },
  usgovdod: { ...US_GOV_BASE, oauthUrl: 'https://apiDoD.botframework.azure.us' },
  // Microsoft Azure operated by 21Vianet.
  china: {
    loginHost: 'https://login.partner.microsoftonline.cn',
    defaultLoginTenant: 'microsoftservices.partner.onmschina.cn',
    oauthScope: 'https://api.botframework.azure.cn',
    tokenIssuer: 'https://api.botframework.azure.cn',
    openIdMetadataUrl: 'https://login.botframework.azure.cn/v1/.well-known/openidconfiguration',
    emulatorOpenIdMetadataUrl:
      'https://login.partner.microsoftonline.cn/a55a4d5b-9241-49b1-b4ff-befa8db00269/v2.0/.well-known/openid-configuration',
    oauthUrl: 'https://token.botframework.azure.cn/',
    callerId: undefined,
  },
};

/** Login hosts whose authorities MSAL knows without instance discovery against a custom host. */
const MICROSOFT_LOGIN_HOSTS = new Set(
  Object.values(CLOUD_PRESETS).map((preset) => new URL(preset.loginHost).host),
);

/** Whether outbound tokens come from one of Microsoft's own login hosts (else: MSAL with a known authority). */
export function isMicrosoftLoginUrl(loginUrl: string): boolean {
  return MICROSOFT_LOGIN_HOSTS.has(new URL(loginUrl).host.toLowerCase());
}

export type TeamsConfig = Pick<
  Config,
  | 'MICROSOFT_APP_ID'
  | 'MICROSOFT_APP_PASSWORD'
  | 'MICROSOFT_APP_TENANT_ID'
  | 'MICROSOFT_APP_TYPE'
  | 'MICROSOFT_CLOUD'
  | 'BOTFRAMEWORK_LOGIN_URL'
  | 'BOTFRAMEWORK_OAUTH_SCOPE'
  | 'BOTFRAMEWORK_TOKEN_ISSUER'
  | 'BOTFRAMEWORK_OPENID_METADATA_URL'
  | 'BOTFRAMEWORK_EMULATOR_OPENID_METADATA_URL'
  | 'BOTFRAMEWORK_OAUTH_URL'
  | 'BOTFRAMEWORK_CALLER_ID'
  | 'BOTFRAMEWORK_VALIDATE_AUTHORITY'
>;

/** The Teams settings, or undefined when Teams is not configured (no app id and password). */
export function resolveTeamsSettings(config: TeamsConfig): TeamsSettings | undefined {
  if (!config.MICROSOFT_APP_ID || !config.MICROSOFT_APP_PASSWORD) return undefined;
  const cloud = config.MICROSOFT_CLOUD;
  const preset = CLOUD_PRESETS[cloud];
  const appType = config.MICROSOFT_APP_TYPE ?? 'MultiTenant';
  const tenantId = config.MICROSOFT_APP_TENANT_ID;
  // A single-tenant bot (or a managed identity) logs in at its own tenant; a multi-tenant one at the channel's.
  const loginTenant = appType !== 'MultiTenant' && tenantId ? tenantId : preset.defaultLoginTenant;
  return {
    appId: config.MICROSOFT_APP_ID,
    appPassword: config.MICROSOFT_APP_PASSWORD,
    appType,
    tenantId,
    cloud,
    loginUrl: config.BOTFRAMEWORK_LOGIN_URL ?? `${preset.loginHost}/${loginTenant}`,
    oauthScope: config.BOTFRAMEWORK_OAUTH_SCOPE ?? preset.oauthScope,
    tokenIssuer: config.BOTFRAMEWORK_TOKEN_ISSUER ?? preset.tokenIssuer,
    openIdMetadataUrl: config.BOTFRAMEWORK_OPENID_METADATA_URL ?? preset.openIdMetadataUrl,
    emulatorOpenIdMetadataUrl:
      config.BOTFRAMEWORK_EMULATOR_OPENID_METADATA_URL ?? preset.emulatorOpenIdMetadataUrl,
    oauthUrl: config.BOTFRAMEWORK_OAUTH_URL ?? preset.oauthUrl,
    callerId: config.BOTFRAMEWORK_CALLER_ID ?? preset.callerId,
    validateAuthority: config.BOTFRAMEWORK_VALIDATE_AUTHORITY ?? true,
  };
}
