// The Teams app manifest for Countersign's bot (manifest.json inside the app package), built from
// the few values that differ per installation.
import type { TeamsManifestV1D30 } from '@microsoft/app-manifest';

/**
 * The newest stable manifest schema in @microsoft/app-manifest (its `TeamsManifestLatest`);
 * test/cli/teams-package.test.ts fails when an upgrade of that package ships a newer one.
 */
export const TEAMS_MANIFEST_VERSION = '1.30';
export const TEAMS_MANIFEST_SCHEMA_URL = `https://developer.microsoft.com/json-schemas/teams/v${TEAMS_MANIFEST_VERSION}/MicrosoftTeams.schema.json`;

/** Background of the color icon and the accent Teams shows around it. */
export const TEAMS_ACCENT_COLOR = '#3B5BDB';

/** The icons' file names inside the package (shipped in apps/cli/assets/teams/). */
export const TEAMS_ICON_FILES = { color: 'color.png', outline: 'outline.png' } as const;

export interface TeamsManifestInput {
  /** The bot's Microsoft App ID (MICROSOFT_APP_ID); also used as the Teams app's id. */
  appId: string;
  /** The server's public https URL (COUNTERSIGN_PUBLIC_URL). */
  host: URL;
  name: string;
  /** The app's own version (semver); Teams wants a higher one for every upload of an update. */
  appVersion: string;
  developer: string;
  websiteUrl: URL;
  privacyUrl: URL;
  termsUrl: URL;
}

export type TeamsManifest = TeamsManifestV1D30.TeamsManifestV1D30;

export function buildTeamsManifest(input: TeamsManifestInput): TeamsManifest {
  return {
    $schema: TEAMS_MANIFEST_SCHEMA_URL,
    manifestVersion: TEAMS_MANIFEST_VERSION,
    version: input.appVersion,
    // The bot's id doubles as the app's: one GUID to manage, and a rebuilt package (new host,
    // new version) updates the installed app instead of adding a second one.
    id: input.appId,
    developer: {
      name: input.developer,
      websiteUrl: input.websiteUrl.href,
      privacyUrl: input.privacyUrl.href,
      termsOfUseUrl: input.termsUrl.href,
    },
    name: { short: input.name, full: `${input.name}: approvals for privileged actions` },
    description: {
      short: 'Approve or deny privileged actions from pipelines and AI agents, in Teams.',
      full:
        'Countersign posts approval requests from pipelines, scripts and AI agents as cards in the ' +
        'team channels and group chats it is added to. Approvers named in the policy approve or deny ' +
        'on the card, with their work identity; nobody can approve their own request. The card ' +
        'follows every decision until the verdict, and every step is kept in a tamper-evident ' +
        'audit trail. Auditors write "report" to the bot in a personal chat for the audit report ' +
        'of a period, with its CSV as a file.',
    },
    icons: { color: TEAMS_ICON_FILES.color, outline: TEAMS_ICON_FILES.outline },
    accentColor: TEAMS_ACCENT_COLOR,
    bots: [
      {
        botId: input.appId,
        scopes: ['team', 'groupChat', 'personal'],
        isNotificationOnly: false,
        // The report's CSV reaches an auditor through the file consent flow, personal chat only.
        supportsFiles: true,
        commandLists: [
          {
            scopes: ['personal'],
            commands: [
              {
                title: 'report',
                description:
                  'Auditors: the audit report, e.g. report, report 7d, report 2030-01-01..2030-01-31',
              },
              { title: 'help', description: 'How to use Countersign in Teams' },
            ],
          },
        ],
      },
    ],
    validDomains: [input.host.host],
    defaultInstallScope: 'team',
    // No webApplicationInfo: the bot reads members (email, UPN) through the Bot Framework
    // connector with its own token, and uses no Teams SSO and no Microsoft Graph.
  };
}
