// countersign teams package — writes the Teams app package (manifest.json, color.png, outline.png)
// an admin uploads to Teams. A client command: it needs neither the database nor the server.
import { writeFile } from 'node:fs/promises';
import { CommanderError, type Command } from 'commander';
import { z } from 'zod';
import packageJson from '../../../../package.json' with { type: 'json' };
import { CliError } from '../cli-error.ts';
import { TEAMS_MANIFEST_VERSION } from './build-teams-manifest.ts';
import { buildTeamsPackage } from './build-teams-package.ts';

/** Exit code for a bad or missing option. */
const BAD_OPTIONS_EXIT_CODE = 2;

const DEFAULT_OUT = 'countersign-teams.zip';
const DEFAULT_NAME = 'Countersign';

// The same pattern as the manifest schema's `semver` definition.
const SEMVER = /^([0-9]|[1-9]+[0-9]*)\.([0-9]|[1-9]+[0-9]*)\.([0-9]|[1-9]+[0-9]*)$/;

function requiredString(flag: string, what: string) {
  return z.string({
    error: (issue) => (issue.input === undefined ? `${flag} is required: ${what}` : undefined),
  });
}

/** A public https URL: Teams only talks to bots and links over https, by domain name. */
function httpsUrl(flag: string) {
  return z
    .url({
      protocol: /^https$/,
      hostname: z.regexes.domain,
      error: `${flag} must be an https URL with a domain name, like https://countersign.example.com`,
    })
    .transform((value) => new URL(value))
    .refine((url) => url.username === '' && url.password === '', `${flag} must not carry a user or password`)
    .refine((url) => url.search === '' && url.hash === '', `${flag} must not have a query or fragment`);
}

const optionsSchema = z.strictObject({
  appId: requiredString('--app-id', "the bot's Microsoft App ID (MICROSOFT_APP_ID), a GUID")
    .trim()
    .pipe(z.guid('--app-id must be a GUID like 00000000-0000-0000-0000-000000000000 (MICROSOFT_APP_ID)'))
    .transform((id) => id.toLowerCase()),
  host: requiredString('--host', "the server's public https URL, like https://countersign.example.com")
    .trim()
    .pipe(httpsUrl('--host')),
  out: z.string().trim().min(1, '--out must name a file').default(DEFAULT_OUT),
  name: z
    .string()
    .trim()
    .min(1, '--name must not be empty')
    .max(30, '--name must be at most 30 characters (Teams shows the short name)')
    .default(DEFAULT_NAME),
  appVersion: z
    .string()
    .trim()
    .regex(SEMVER, '--app-version must be a version like 1.2.3')
    .default(packageJson.version),
  developer: z
    .string()
    .trim()
    .min(1, '--developer must not be empty')
    .max(32, '--developer must be at most 32 characters')
    .default(DEFAULT_NAME),
  websiteUrl: z.string().trim().pipe(httpsUrl('--website-url')).optional(),
  privacyUrl: z.string().trim().pipe(httpsUrl('--privacy-url')).optional(),
  termsUrl: z.string().trim().pipe(httpsUrl('--terms-url')).optional(),
});

type RawOptions = z.input<typeof optionsSchema>;

function parseOptions(raw: RawOptions): z.output<typeof optionsSchema> {
  const parsed = optionsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // One line per problem; a URL failing both its protocol and its host check says so once.
  const problems = [...new Set(parsed.error.issues.map((issue) => `  ${issue.message}`))];
  throw new CliError(`teams package: bad options\n${problems.join('\n')}`, BAD_OPTIONS_EXIT_CODE);
}

/** Commander's own option errors (unknown option, missing value) exit 2 here too, not 1. */
function exitOnBadOptions(error: CommanderError): never {
  const usageErrors = [
    'commander.unknownOption',
    'commander.optionMissingArgument',
    'commander.excessArguments',
  ];
  if (!usageErrors.includes(error.code)) throw error;
  throw new CommanderError(BAD_OPTIONS_EXIT_CODE, error.code, error.message);
}

export function registerTeamsCommands(program: Command): void {
  const teams = program.command('teams').description('Microsoft Teams commands');

  teams
    .command('package')
    .description(
      'write the Teams app package (manifest.json, color.png, outline.png) to upload in the Teams ' +
        'admin center or with "Upload a custom app"; exit 2 for a bad option',
    )
    .option('--app-id <guid>', "the bot's Microsoft App ID (MICROSOFT_APP_ID); required")
    .option('--host <url>', "the server's public https URL (COUNTERSIGN_PUBLIC_URL); required")
    .option('--out <file>', `where to write the package (default: ${DEFAULT_OUT})`)
    .option('--name <name>', `the app's name in Teams, at most 30 characters (default: ${DEFAULT_NAME})`)
    .option(
      '--app-version <semver>',
      `the app's version; raise it for every update you upload (default: ${packageJson.version})`,
    )
    .option('--developer <name>', `who publishes the app in your tenant (default: ${DEFAULT_NAME})`)
    .option('--website-url <url>', 'developer website shown in Teams (default: --host)')
    .option('--privacy-url <url>', 'privacy statement shown in Teams (default: --host)')
    .option('--terms-url <url>', 'terms of use shown in Teams (default: --host)')
    .exitOverride(exitOnBadOptions)
    .action(async (raw: RawOptions) => {
      const options = parseOptions(raw);
      const zip = await buildTeamsPackage({
        appId: options.appId,
        host: options.host,
        name: options.name,
        appVersion: options.appVersion,
        developer: options.developer,
        websiteUrl: options.websiteUrl ?? options.host,
        privacyUrl: options.privacyUrl ?? options.host,
        termsUrl: options.termsUrl ?? options.host,
      });
      try {
        await writeFile(options.out, zip);
      } catch (error) {
        const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
        throw new CliError(`cannot write --out ${options.out}: ${reason}`, BAD_OPTIONS_EXIT_CODE);
      }
      // Relative to --host, so a server behind a path prefix gets that prefix too.
      const endpoint = new URL('api/messages', options.host.href.replace(/\/?$/, '/'));
      console.log(
        [
          `wrote ${options.out}: Teams app "${options.name}" ${options.appVersion} (manifest ${TEAMS_MANIFEST_VERSION}), bot ${options.appId}`,
          `the Azure Bot's messaging endpoint must be ${endpoint.href}`,
          'upload the package in the Teams admin center (Teams apps → Manage apps → Upload new app) or in Teams (Apps → Manage your apps → Upload an app)',
        ].join('\n'),
      );
    });
}
