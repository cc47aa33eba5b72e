// Builds botbuilder's CloudAdapter over ConfigurationBotFrameworkAuthentication in fully
// parameterized mode (every endpoint from TeamsSettings), so sovereign clouds and local test
// doubles are configuration only. Outbound tokens from a login host that is not Microsoft's come
// from MSAL with that host as a known authority (MSAL would otherwise ask Microsoft first).
import { ConfidentialClientApplication } from '@azure/msal-node';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type Activity,
  type InvokeResponse,
  type TurnContext,
} from 'botbuilder';
import {
  MsalServiceClientCredentialsFactory,
  type AuthenticateRequestResult,
  type BotFrameworkAuthentication,
} from 'botframework-connector';
import { isMicrosoftLoginUrl, type TeamsSettings } from './resolve-teams-settings.ts';

type MsalClient = ConstructorParameters<typeof MsalServiceClientCredentialsFactory>[1];

/** CloudAdapter that runs a turn for a request whose token the endpoint has already verified. */
export class TeamsCloudAdapter extends CloudAdapter {
  runVerified(
    verified: AuthenticateRequestResult,
    activity: Activity,
    logic: (context: TurnContext) => Promise<void>,
  ): Promise<InvokeResponse | undefined> {
    return this.processActivity(verified, activity, logic);
  }
}

export interface TeamsAdapter {
  adapter: TeamsCloudAdapter;
  /** Verifies inbound channel tokens (the same object the adapter uses). */
  authentication: BotFrameworkAuthentication;
  appId: string;
}

export function createTeamsAdapter(settings: TeamsSettings): TeamsAdapter {
  const credentialsFactory = isMicrosoftLoginUrl(settings.loginUrl)
    ? undefined
    : new MsalServiceClientCredentialsFactory(
        settings.appId,
        // botframework-connector's declarations name msal-node's CommonJS types; this import gets
        // the ESM build of the same package version: same class, different declaration files.
        new ConfidentialClientApplication({
          auth: {
            clientId: settings.appId,
            clientSecret: settings.appPassword,
            authority: settings.loginUrl,
            knownAuthorities: [new URL(settings.loginUrl).host],
          },
        }) as unknown as MsalClient,
      );
  const authentication = new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: settings.appId,
      MicrosoftAppPassword: settings.appPassword,
      MicrosoftAppType: settings.appType,
      ...(settings.tenantId ? { MicrosoftAppTenantId: settings.tenantId } : {}),
      ValidateAuthority: settings.validateAuthority,
      ToChannelFromBotLoginUrl: settings.loginUrl,
      ToChannelFromBotOAuthScope: settings.oauthScope,
      ToBotFromChannelTokenIssuer: settings.tokenIssuer,
      ToBotFromChannelOpenIdMetadataUrl: settings.openIdMetadataUrl,
      ToBotFromEmulatorOpenIdMetadataUrl: settings.emulatorOpenIdMetadataUrl,
      OAuthUrl: settings.oauthUrl,
      ...(settings.callerId ? { CallerId: settings.callerId } : {}),
    },
    credentialsFactory,
  );
  const adapter = new TeamsCloudAdapter(authentication);
  return { adapter, authentication, appId: settings.appId };
}
