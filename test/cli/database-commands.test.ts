// Database commands never create an embedded database by surprise: run where there is none (another
// directory, an empty COUNTERSIGN_DATA_DIR) each one refuses with exit 2, names the directory,
// DATABASE_URL and --data-dir, and leaves nothing behind. With --data-dir pointing at an existing
// embedded database they work from anywhere and say on stderr which database they used.
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../apps/server/src/db/embedded.ts';
import { cliEnv, describeRun, killRunningClis, runCli, type CliResult } from '../support/cli.ts';
import { silentLogger } from '../support/logging.ts';

const DATABASE_COMMANDS: string[][] = [
  ['keys', 'create', '--name', 'pipeline'],
  ['keys', 'list'],
  ['keys', 'revoke', randomUUID()],
  ['scim', 'token', 'create', '--name', 'okta'],
  ['migrate'],
  ['audit', 'verify'],
  ['audit', 'checkpoint', 'create'],
  ['audit', 'checkpoint', 'export'],
  ['audit', 'report'],
];

function expectRefusal(result: CliResult, dataDir: string): void {
  expect(result.code, describeRun(result)).toBe(2);
  expect(result.stdout, describeRun(result)).toBe('');
  const lines = result.stderr.trim().split('\n');
  expect(lines, describeRun(result)).toHaveLength(1);
  expect(lines[0]).toContain(`no Countersign database in ${dataDir}`);
  expect(lines[0]).toContain('DATABASE_URL');
  expect(lines[0]).toContain('--data-dir');
}

describe('database commands and the embedded data directory', { timeout: 240_000 }, () => {
  let elsewhere: string;
  let existing: string;

  beforeAll(async () => {
    elsewhere = await mkdtemp(join(tmpdir(), 'countersign-elsewhere-'));
    existing = await mkdtemp(join(tmpdir(), 'countersign-existing-'));
    // What `countersign serve` leaves behind: an embedded database, not running now.
    const embedded = await startEmbeddedPostgres(existing, silentLogger());
    await embedded.stop();
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await rm(elsewhere, { recursive: true, force: true });
    await rm(existing, { recursive: true, force: true });
  });

  it.each(DATABASE_COMMANDS.map((args) => [args.join(' '), args]))(
    '`%s` run in a directory without a database refuses and creates nothing',
    async (_name, args) => {
      const result = await runCli(args, cliEnv({ DATABASE_URL: undefined }), { cwd: elsewhere });
      expectRefusal(result, join(elsewhere, '.countersign'));
      expect(readdirSync(elsewhere)).toEqual([]);
    },
  );

  it('refuses an empty COUNTERSIGN_DATA_DIR and an empty --data-dir alike', async () => {
    const empty = join(elsewhere, 'empty');
    const byEnv = await runCli(
      ['keys', 'list'],
      cliEnv({ DATABASE_URL: undefined, COUNTERSIGN_DATA_DIR: empty }),
    );
    expectRefusal(byEnv, empty);
    const byOption = await runCli(['keys', 'list', '--data-dir', empty], cliEnv({ DATABASE_URL: undefined }));
    expectRefusal(byOption, empty);
    expect(existsSync(empty)).toBe(false);
  });

  it('--data-dir with an existing database works from any directory and names the database used', async () => {
    const env = cliEnv({ DATABASE_URL: undefined });
    const created = await runCli(
      ['keys', 'create', '--name', 'pipeline', '--json', '--data-dir', existing],
      env,
      {
        cwd: elsewhere,
      },
    );
    expect(created.code, describeRun(created)).toBe(0);
    expect(created.stderr).toContain(
      `countersign: using the embedded database in ${existing} (DATABASE_URL is unset)`,
    );
    const { id } = JSON.parse(created.stdout) as { id: string };

    // The option also goes before the command.
    const listed = await runCli(['--data-dir', existing, 'keys', 'list', '--json'], env, { cwd: elsewhere });
    expect(listed.code, describeRun(listed)).toBe(0);
    expect(listed.stderr).toContain(`using the embedded database in ${existing}`);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((k) => k.id)).toEqual([id]);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('--data-dir beside DATABASE_URL is refused: only one of them can be meant', async () => {
    const result = await runCli(
      ['keys', 'list', '--data-dir', existing],
      cliEnv({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none' }),
      { cwd: elsewhere },
    );
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr).toContain('--data-dir names an embedded database, but DATABASE_URL is set');
    expect(result.stdout).toBe('');
  });
});
