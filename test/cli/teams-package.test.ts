// `countersign teams package` as a real process: the zip it writes holds a manifest.json that the
// current Teams manifest JSON schema (from @microsoft/app-manifest) accepts, and the two icons at
// the sizes Teams requires; bad options exit 2 and write nothing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { strFromU8, unzipSync } from 'fflate';
import { Command, CommanderError } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../apps/cli/src/cli-error.ts';
import { registerTeamsCommands } from '../../apps/cli/src/commands/teams-package.ts';
import {
  CLI_BIN,
  cliEnv,
  describeRun,
  killRunningClis,
  REPO_ROOT,
  runCli,
  type CliResult,
} from '../support/cli.ts';

const APP_ID = '6F2C1B7E-0A4D-4C3A-9D2E-5A1B2C3D4E5F';
const HOST = 'https://countersign.example.com';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

// The command is a client one: a database it would try to reach does not exist.
const env = cliEnv({ DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' });

const SCHEMAS_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@microsoft/app-manifest/package.json')),
  'build/json-schemas/teams',
);

/** The schema file a manifest's `$schema` URL names, from the package's copy of Microsoft's site. */
function localSchemaPath(schemaUrl: string): string {
  const url = new URL(schemaUrl);
  expect(url.origin).toBe('https://developer.microsoft.com');
  const match = /^\/(?:[a-z]{2}-[a-z]{2}\/)?json-schemas\/teams\/(.+)$/.exec(url.pathname);
  if (!match?.[1]) throw new Error(`not a Teams manifest schema URL: ${schemaUrl}`);
  return join(SCHEMAS_DIR, match[1]);
}

/** The highest numbered (stable) manifest version the package ships; vDevPreview is not one. */
function newestStableVersion(): string {
  const versions = readdirSync(SCHEMAS_DIR)
    .map((name) => /^v(\d+)\.(\d+)$/.exec(name))
    .filter((match) => match !== null)
    .map((match) => [Number(match[1]), Number(match[2])] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const newest = versions.at(-1);
  if (!newest) throw new Error(`no manifest schemas in ${SCHEMAS_DIR}`);
  return `${newest[0]}.${newest[1]}`;
}

function newestStableSchemaPath(): string {
  return join(SCHEMAS_DIR, `v${newestStableVersion()}`, 'MicrosoftTeams.schema.json');
}

/**
 * A validator for the schema file. The file says draft-04 but uses `const` (draft-06) and none of
 * draft-04's own forms (boolean exclusiveMinimum/Maximum), so ajv's draft-07 class reads it as
 * meant; the check below fails if a later schema starts to use them.
 */
function compileSchema(path: string): ValidateFunction {
  const text = readFileSync(path, 'utf8');
  expect(text).not.toMatch(/"exclusive(Minimum|Maximum)"\s*:\s*(true|false)/);
  const schema = JSON.parse(text) as Record<string, unknown>;
  expect(schema['$schema']).toBe('http://json-schema.org/draft-04/schema#');
  delete schema['$schema'];
  const ajv = new Ajv({ allErrors: true, strictTypes: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

interface Png {
  width: number;
  height: number;
  /** 8-bit RGBA, row by row. */
  pixels: Uint8Array;
}

function paeth(left: number, up: number, upLeft: number): number {
  const p = left + up - upLeft;
  const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
  if (pa <= pb && pa <= pc) return left;
  return pb <= pc ? up : upLeft;
}

/** Reads an 8-bit RGBA, non-interlaced PNG (what the shipped icons are); throws on anything else. */
function decodePng(bytes: Uint8Array): Png {
  const buffer = Buffer.from(bytes);
  expect([...buffer.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let header: Buffer | undefined;
  const data: Buffer[] = [];
  while (offset < buffer.length) {
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    const body = buffer.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') header = body;
    if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  if (!header) throw new Error('PNG without IHDR');
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  // bit depth, colour type, compression, filter method, interlace
  expect([...header.subarray(8, 13)], 'an 8-bit RGBA, non-interlaced PNG').toEqual([8, 6, 0, 0, 0]);
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * 4;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x] ?? 0;
      const left = x >= 4 ? (pixels[y * stride + x - 4] ?? 0) : 0;
      const up = y > 0 ? (pixels[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = x >= 4 && y > 0 ? (pixels[(y - 1) * stride + x - 4] ?? 0) : 0;
      const predictor = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter ?? -1];
      if (predictor === undefined) throw new Error(`PNG row ${y}: unknown filter ${filter}`);
      pixels[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  return { width, height, pixels };
}

/**
 * Runs `teams package ARGS` through the command's registration in this process and returns how it
 * failed: the exit code main.ts would use and what would be printed.
 */
async function parseInProcess(args: string[]): Promise<{ exitCode: number; message: string }> {
  let printed = '';
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeErr: (text) => (printed += text), writeOut: () => undefined });
  registerTeamsCommands(program);
  try {
    await program.parseAsync(['teams', 'package', ...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
    if (error instanceof CommanderError) return { exitCode: error.exitCode, message: printed };
    throw error;
  }
  throw new Error(`teams package ${args.join(' ')} did not fail`);
}

describe('countersign teams package', () => {
  let dir: string;
  let validate: ValidateFunction;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-teams-'));
    validate = compileSchema(newestStableSchemaPath());
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function packageFiles(
    args: string[],
  ): Promise<{ result: CliResult; files: Record<string, Uint8Array> }> {
    const out = join(dir, `package-${Math.random().toString(36).slice(2)}.zip`);
    const result = await runCli(['teams', 'package', ...args, '--out', out], env);
    expect(result.code, describeRun(result)).toBe(0);
    return { result, files: unzipSync(await readFile(out)) };
  }

  function manifestOf(files: Record<string, Uint8Array>): Record<string, unknown> {
    const bytes = files['manifest.json'];
    if (!bytes) throw new Error('the package has no manifest.json');
    return JSON.parse(strFromU8(bytes)) as Record<string, unknown>;
  }

  describe('with --app-id and --host only', () => {
    let result: CliResult;
    let files: Record<string, Uint8Array>;
    let manifest: Record<string, unknown>;

    beforeAll(async () => {
      ({ result, files } = await packageFiles(['--app-id', APP_ID, '--host', HOST]));
      manifest = manifestOf(files);
    });

    it('holds manifest.json, color.png and outline.png at the root, nothing else', () => {
      expect(Object.keys(files).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    });

    it('the manifest names the newest stable schema shipped, and that schema accepts it', () => {
      expect(manifest['manifestVersion']).toBe(newestStableVersion());
      const schemaPath = localSchemaPath(String(manifest['$schema']));
      expect(schemaPath).toBe(newestStableSchemaPath());
      expect(existsSync(schemaPath)).toBe(true);
      const valid = validate(manifest);
      expect(validate.errors ?? [], 'schema errors').toEqual([]);
      expect(valid).toBe(true);
    });

    it('the schema check can fail: a manifest without a bot id or with a wrong version is refused', () => {
      const bots = manifest['bots'] as Record<string, unknown>[];
      const withoutBotId = { ...manifest, bots: bots.map(({ botId: _botId, ...bot }) => bot) };
      expect(validate(withoutBotId)).toBe(false);
      expect(validate({ ...manifest, manifestVersion: '1.29' })).toBe(false);
      expect(validate({ ...manifest, accentColor: 'blue' })).toBe(false);
    });

    it('one bot with the app id, in team, group chat and personal scope, files on, report and help', () => {
      const appId = APP_ID.toLowerCase();
      expect(manifest['id']).toBe(appId);
      expect(manifest['bots']).toEqual([
        {
          botId: appId,
          scopes: ['team', 'groupChat', 'personal'],
          isNotificationOnly: false,
          supportsFiles: true,
          commandLists: [
            {
              scopes: ['personal'],
              commands: [
                { title: 'report', description: expect.stringContaining('report 7d') as unknown },
                { title: 'help', description: expect.any(String) as unknown },
              ],
            },
          ],
        },
      ]);
      expect(manifest['validDomains']).toEqual(['countersign.example.com']);
      expect(manifest).not.toHaveProperty('webApplicationInfo');
      expect(manifest['icons']).toEqual({ color: 'color.png', outline: 'outline.png' });
      expect(manifest['version']).toMatch(/^\d+\.\d+\.\d+$/);
      expect(manifest['developer']).toEqual({
        name: 'Countersign',
        websiteUrl: `${HOST}/`,
        privacyUrl: `${HOST}/`,
        termsOfUseUrl: `${HOST}/`,
      });
      expect(manifest['name']).toMatchObject({ short: 'Countersign' });
    });

    it('the icons are the shipped files: color 192×192 opaque, outline 32×32 white on transparent', async () => {
      const assets = join(REPO_ROOT, 'apps/cli/assets/teams');
      expect(Buffer.from(files['color.png'] ?? [])).toEqual(await readFile(join(assets, 'color.png')));
      expect(Buffer.from(files['outline.png'] ?? [])).toEqual(await readFile(join(assets, 'outline.png')));

      const color = decodePng(files['color.png'] ?? new Uint8Array());
      expect([color.width, color.height]).toEqual([192, 192]);
      const colorAlphas = new Set(color.pixels.filter((_, i) => i % 4 === 3));
      expect([...colorAlphas]).toEqual([255]);

      const outline = decodePng(files['outline.png'] ?? new Uint8Array());
      expect([outline.width, outline.height]).toEqual([32, 32]);
      let transparent = 0;
      let opaque = 0;
      for (let i = 0; i < outline.pixels.length; i += 4) {
        const [r, g, b, a] = outline.pixels.subarray(i, i + 4);
        if (a === 0) transparent++;
        else expect([r, g, b], `outline pixel ${i / 4} is not white`).toEqual([255, 255, 255]);
        if (a === 255) opaque++;
      }
      expect(transparent).toBeGreaterThan(32 * 32 * 0.3);
      expect(opaque).toBeGreaterThan(32 * 2);
    });

    it('tells the admin the messaging endpoint and where to upload', () => {
      expect(result.stdout).toContain(`${HOST}/api/messages`);
      expect(result.stdout).toMatch(/Teams admin center/);
      expect(result.stderr).toBe('');
    });
  });

  it('--name, --app-version, --developer and the developer URLs go into the manifest', async () => {
    const { files } = await packageFiles([
      '--app-id',
      APP_ID,
      '--host',
      'https://approvals.corp.example.com/countersign/',
      '--name',
      'Approvals',
      '--app-version',
      '2.3.4',
      '--developer',
      'Example Corp IT',
      '--website-url',
      'https://it.example.com/approvals',
      '--privacy-url',
      'https://example.com/privacy',
      '--terms-url',
      'https://example.com/terms',
    ]);
    const manifest = manifestOf(files);
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest['name']).toEqual({
      short: 'Approvals',
      full: 'Approvals: approvals for privileged actions',
    });
    expect(manifest['version']).toBe('2.3.4');
    expect(manifest['developer']).toEqual({
      name: 'Example Corp IT',
      websiteUrl: 'https://it.example.com/approvals',
      privacyUrl: 'https://example.com/privacy',
      termsOfUseUrl: 'https://example.com/terms',
    });
    expect(manifest['validDomains']).toEqual(['approvals.corp.example.com']);
  });

  it('the messaging endpoint keeps a path prefix of --host', async () => {
    const { result } = await packageFiles([
      '--app-id',
      APP_ID,
      '--host',
      'https://corp.example.com/countersign',
    ]);
    expect(result.stdout).toContain('https://corp.example.com/countersign/api/messages');
  });

  it('--out defaults to countersign-teams.zip in the working directory', async () => {
    // runCli runs in the repository; this one needs a directory of its own.
    const cwd = await mkdtemp(join(dir, 'cwd-'));
    const child = spawn(process.execPath, [CLI_BIN, 'teams', 'package', '--app-id', APP_ID, '--host', HOST], {
      cwd,
      env,
      stdio: 'ignore',
    });
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    const files = unzipSync(await readFile(join(cwd, 'countersign-teams.zip')));
    expect(manifestOf(files)['id']).toBe(APP_ID.toLowerCase());
  });

  // Every bad option, through the command's own parsing in this process (a CLI process takes
  // seconds to start here); the real process below shows that these failures exit 2.
  it.each([
    { what: 'no --app-id', args: ['--host', HOST], message: '--app-id is required' },
    { what: 'no --host', args: ['--app-id', APP_ID], message: '--host is required' },
    {
      what: 'an app id that is no GUID',
      args: ['--app-id', 'countersign-bot', '--host', HOST],
      message: '--app-id must be a GUID',
    },
    {
      what: 'an http host',
      args: ['--app-id', APP_ID, '--host', 'http://countersign.example.com'],
      message: '--host must be an https URL',
    },
    {
      what: 'a host without scheme',
      args: ['--app-id', APP_ID, '--host', 'countersign.example.com'],
      message: '--host must be an https URL',
    },
    {
      what: 'an IP address as host',
      args: ['--app-id', APP_ID, '--host', 'https://10.0.0.5'],
      message: '--host must be an https URL with a domain name',
    },
    {
      what: 'a host with a query',
      args: ['--app-id', APP_ID, '--host', `${HOST}/?x=1`],
      message: '--host must not have a query',
    },
    {
      what: 'a host with credentials',
      args: ['--app-id', APP_ID, '--host', 'https://u:p@countersign.example.com'],
      message: '--host must not carry a user',
    },
    {
      what: 'a name over 30 characters',
      args: ['--app-id', APP_ID, '--host', HOST, '--name', 'x'.repeat(31)],
      message: '--name must be at most 30',
    },
    {
      what: 'a version that is not semver',
      args: ['--app-id', APP_ID, '--host', HOST, '--app-version', '1.0'],
      message: '--app-version must be a version',
    },
    {
      what: 'an http privacy URL',
      args: ['--app-id', APP_ID, '--host', HOST, '--privacy-url', 'http://example.com/p'],
      message: '--privacy-url must be an https URL',
    },
    {
      what: 'an unknown option',
      args: ['--app-id', APP_ID, '--host', HOST, '--colour', 'red'],
      message: "unknown option '--colour'",
    },
    {
      what: 'an option without its value',
      args: ['--host', HOST, '--app-id'],
      message: "option '--app-id <guid>' argument missing",
    },
  ])('$what: exit code 2, a message naming the option, no file', async ({ args, message }) => {
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}.zip`);
    const failure = await parseInProcess(['--out', out, ...args]);
    expect(failure.exitCode, failure.message).toBe(2);
    expect(failure.message).toContain(message);
    await expect(access(out)).rejects.toThrow();
  });

  it.each([
    {
      what: 'a bad app id',
      args: ['--app-id', 'countersign-bot', '--host', HOST],
      message: '--app-id must be a GUID',
    },
    {
      what: 'an unknown option',
      args: ['--app-id', APP_ID, '--host', HOST, '--colour', 'red'],
      message: "unknown option '--colour'",
    },
  ])(
    'as a process, $what exits 2 with the message on stderr and nothing on stdout',
    async ({ args, message }) => {
      const out = join(dir, `bad-${Math.random().toString(36).slice(2)}.zip`);
      const result = await runCli(['teams', 'package', '--out', out, ...args], env);
      expect(result.code, describeRun(result)).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
      await expect(access(out)).rejects.toThrow();
    },
  );

  it('both required options missing: both are named, once each', async () => {
    const failure = await parseInProcess([]);
    expect(failure.exitCode).toBe(2);
    expect(failure.message.match(/--app-id is required/g)).toHaveLength(1);
    expect(failure.message.match(/--host is required/g)).toHaveLength(1);
  });

  it('an --out that cannot be written: exit 2, naming the path', async () => {
    const out = join(dir, 'missing-dir', 'countersign-teams.zip');
    const result = await runCli(['teams', 'package', '--app-id', APP_ID, '--host', HOST, '--out', out], env);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr).toContain(`cannot write --out ${out}: ENOENT`);
  });
});
