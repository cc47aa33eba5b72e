// `countersign keys create|list|revoke|admins` and `countersign migrate`, run as real processes against a
// fresh database: a new database on DATABASE_URL's server, or, when DATABASE_URL is unset, the
// embedded PGlite in a temporary COUNTERSIGN_DATA_DIR (DATABASE_URL left unset for the command).
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../apps/server/src/db/embedded.ts';
import { readMigrationFiles } from '../../apps/server/src/db/migrate.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, runCli, type CliResult } from '../support/cli.ts';
import { silentLogger } from '../support/logging.ts';
import { createTestDatabase, usingRealPostgres } from '../support/test-database.ts';

/** Where the commands run, and a way for the test to look into the same database. */
interface Target {
  env: NodeJS.ProcessEnv;
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

async function queryUrl<R extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params?: unknown[],
): Promise<R[]> {
  return withPgClient(url, async (client) => (await client.query<R>(sql, params)).rows);
}

async function createTarget(): Promise<Target> {
  if (usingRealPostgres) {
    const database = await createTestDatabase();
    return {
      env: cliEnv({ DATABASE_URL: database.url }),
      query: (sql, params) => queryUrl(database.url, sql, params),
      close: () => database.drop(),
    };
  }
  // Embedded: the database exists (commands other than `serve` never create one), and each
  // command finds it unheld and starts PGlite itself. Once the test looks into the database it
  // holds it open itself, and from then on the commands connect to it through the lock file, as
  // they would to a running server's.
  const dataDir = await mkdtemp(join(tmpdir(), 'countersign-cli-'));
  await (await startEmbeddedPostgres(dataDir, silentLogger())).stop();
  let held: EmbeddedPostgres | undefined;
  return {
    env: cliEnv({ COUNTERSIGN_DATA_DIR: dataDir, DATABASE_URL: undefined }),
    async query(sql, params) {
      held ??= await startEmbeddedPostgres(dataDir, silentLogger());
      return queryUrl(held.url, sql, params);
    },
    async close() {
      await held?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const createdKeySchema = z.strictObject({
  id: z.uuid(),
  clientId: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  requesters: z.array(z.string()),
  actions: z.array(z.string()),
  admins: z.array(z.string()),
  createdAt: z.iso.datetime(),
  key: z.string(),
  callbackSecret: z.string(),
  webhookSecret: z.string(),
});
type CreatedKey = z.infer<typeof createdKeySchema>;

const listedKeySchema = z.strictObject({
  id: z.uuid(),
  clientId: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  requesters: z.array(z.string()),
  actions: z.array(z.string()),
  admins: z.array(z.string()),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
type ListedKey = z.infer<typeof listedKeySchema>;

function expectSuccess(result: CliResult): void {
  expect(result.code, describeRun(result)).toBe(0);
}

function expectFailure(result: CliResult): void {
  expect(result.signal, describeRun(result)).toBeNull();
  expect(result.code, describeRun(result)).not.toBe(0);
  expect(result.code, describeRun(result)).not.toBeNull();
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

// Every command is a fresh Node process (tsx, and in embedded mode maybe a PGlite start): slow
// on a busy machine, so these tests get more time than the default.
const CLI_TEST_TIMEOUT = 240_000;

describe('countersign keys', { timeout: CLI_TEST_TIMEOUT }, () => {
  let target: Target;

  beforeAll(async () => {
    target = await createTarget();
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await killRunningClis();
    await target?.close();
  });

  async function createKey(...extra: string[]): Promise<CreatedKey> {
    const result = await runCli(['keys', 'create', '--json', ...extra], target.env);
    expectSuccess(result);
    // stdout carries the JSON document and nothing else (diagnostics go to stderr).
    return createdKeySchema.parse(JSON.parse(result.stdout));
  }

  async function listKeys(): Promise<ListedKey[]> {
    const result = await runCli(['keys', 'list', '--json'], target.env);
    expectSuccess(result);
    return z.array(listedKeySchema).parse(JSON.parse(result.stdout));
  }

  it('create --json prints the key and a callback secret once; the database keeps only the hash', async () => {
    const created = await createKey('--name', 'ci');
    expect(created.key).toMatch(/^cs_[A-Za-z0-9_-]{20,}$/);
    expect(created.callbackSecret.length).toBeGreaterThanOrEqual(32);
    // The Standard Webhooks secret: whsec_ and the base64 of 32 key bytes.
    expect(created.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.webhookSecret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(created.name).toBe('ci');
    expect(created.scopes).toEqual(['approvals:write', 'approvals:read']);
    expect(created.key.startsWith(created.prefix)).toBe(true);
    expect(created.prefix.length).toBeLessThan(created.key.length / 2);

    const rows = await target.query<{ hash: string; name: string; row: string }>(
      `SELECT hash, name, k::text AS row FROM api_keys k WHERE id = $1`,
      [created.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.hash).toBe(sha256(created.key));
    expect(rows[0]?.name).toBe('ci');

    // Neither the key nor its secret part (everything after the display prefix) is stored
    // anywhere: not in api_keys, nor in any other table.
    const secretPart = created.key.slice(created.prefix.length);
    const tables = await target.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()`,
    );
    expect(tables.map((t) => t.name)).toContain('api_keys');
    for (const { name } of tables) {
      const dump = await target.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
      for (const { row } of dump) {
        expect(row, `table ${name}`).not.toContain(created.key);
        expect(row, `table ${name}`).not.toContain(secretPart);
      }
    }
  });

  it('list --json shows the key without the key itself', async () => {
    const created = await createKey('--name', 'lister');
    const result = await runCli(['keys', 'list', '--json'], target.env);
    expectSuccess(result);
    expect(result.stdout).not.toContain(created.key);
    expect(result.stdout).not.toContain(created.key.slice(created.prefix.length));
    expect(result.stdout).not.toContain(sha256(created.key));
    expect(result.stdout).not.toContain(created.callbackSecret);
    expect(result.stdout).not.toContain(created.webhookSecret);

    const listed = z.array(listedKeySchema).parse(JSON.parse(result.stdout));
    const entry = listed.find((k) => k.id === created.id);
    expect(entry).toEqual({
      id: created.id,
      clientId: created.clientId,
      name: 'lister',
      prefix: created.prefix,
      scopes: created.scopes,
      requesters: [],
      actions: [],
      admins: [],
      createdAt: created.createdAt,
      lastUsedAt: null,
      revokedAt: null,
    });
  });

  it('revoke <id> revokes the key: list shows revokedAt; revoking again changes nothing', async () => {
    const created = await createKey('--name', 'to-revoke');
    const revoked = await runCli(['keys', 'revoke', created.id], target.env);
    expectSuccess(revoked);
    expect(revoked.stdout.trim()).toBe(`revoked ${created.id}`);

    const entry = (await listKeys()).find((k) => k.id === created.id);
    expect(entry?.revokedAt).toEqual(expect.any(String));
    const rows = await target.query<{ revoked_at: Date | null }>(
      `SELECT revoked_at FROM api_keys WHERE id = $1`,
      [created.id],
    );
    expect(rows[0]?.revoked_at?.toISOString()).toBe(entry?.revokedAt);

    const again = await runCli(['keys', 'revoke', created.id], target.env);
    expectSuccess(again);
    expect(again.stdout.trim()).toBe(`${created.id} was already revoked`);
    expect((await listKeys()).find((k) => k.id === created.id)?.revokedAt).toBe(entry?.revokedAt);
  });

  it('revoke of an unknown id exits non-zero with a message and revokes nothing', async () => {
    const created = await createKey('--name', 'bystander');
    const unknown = randomUUID();
    const result = await runCli(['keys', 'revoke', unknown], target.env);
    expectFailure(result);
    expect(result.stderr).toContain(`no API key with id ${unknown}`);
    expect(result.stdout).toBe('');

    const notAnId = await runCli(['keys', 'revoke', 'not-a-uuid'], target.env);
    expectFailure(notAnId);
    expect(notAnId.stderr).toContain('no API key with id not-a-uuid');

    expect((await listKeys()).find((k) => k.id === created.id)?.revokedAt).toBeNull();
  });

  it('create --scopes audit:read,admin stores exactly those scopes', async () => {
    const created = await createKey('--name', 'auditor', '--scopes', 'audit:read,admin');
    expect(created.scopes).toEqual(['audit:read', 'admin']);
    const rows = await target.query<{ scopes: string[] }>(`SELECT scopes FROM api_keys WHERE id = $1`, [
      created.id,
    ]);
    expect(rows[0]?.scopes).toEqual(['audit:read', 'admin']);
  });

  it('create --requester … --actions binds the key: stored, audited in key.created, shown by list', async () => {
    const created = await createKey(
      '--name',
      'deploy-bot',
      '--requester',
      'Alice@Example.com',
      '--requester',
      'bob@example.com',
      '--actions',
      'deploy.*,release.tag',
    );
    expect(created.requesters).toEqual(['alice@example.com', 'bob@example.com']);
    expect(created.actions).toEqual(['deploy.*', 'release.tag']);
    const rows = await target.query<{ requesters: string[]; actions: string[] }>(
      `SELECT requesters, actions FROM api_keys WHERE id = $1`,
      [created.id],
    );
    expect(rows[0]).toEqual({
      requesters: ['alice@example.com', 'bob@example.com'],
      actions: ['deploy.*', 'release.tag'],
    });
    const events = await target.query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM audit_events WHERE type = 'key.created' AND payload->>'keyId' = $1`,
      [created.id],
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({
      name: 'deploy-bot',
      requesters: ['alice@example.com', 'bob@example.com'],
      actions: ['deploy.*', 'release.tag'],
    });

    const entry = (await listKeys()).find((k) => k.id === created.id);
    expect(entry).toMatchObject({ requesters: created.requesters, actions: created.actions });
    const text = await runCli(['keys', 'list'], target.env);
    expectSuccess(text);
    const line = text.stdout.split('\n').find((l) => l.startsWith(created.id));
    expect(line).toContain('requesters: alice@example.com, bob@example.com; actions: deploy.*, release.tag');
  });

  it.each([
    [['--requester', 'not-an-email'], 'not-an-email'],
    [['--actions', 'deploy.$(rm)'], 'deploy.$(rm)'],
    [['--admin', 'dana@'], '--admin "dana@" is not an email'],
  ])('create with a bad binding %j exits non-zero naming it, and creates nothing', async (extra, named) => {
    const count = async () =>
      (await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys`))[0]?.n;
    const before = await count();
    const result = await runCli(['keys', 'create', '--name', 'bad', ...extra, '--json'], target.env);
    expectFailure(result);
    expect(result.stderr).toContain(named);
    expect(result.stdout).toBe('');
    expect(await count()).toBe(before);
  });

  it('create --admin names who administers the key: stored, audited in key.created, shown by list', async () => {
    const created = await createKey(
      '--name',
      'team-a',
      '--admin',
      ' Dana@Example.com',
      '--admin',
      'erin@example.com',
      '--admin',
      'dana@example.com',
    );
    expect(created.admins).toEqual(['dana@example.com', 'erin@example.com']);
    const rows = await target.query<{ admins: string[] }>(
      `SELECT c.admins FROM clients c JOIN api_keys k ON k.client_id = c.id WHERE k.id = $1`,
      [created.id],
    );
    expect(rows).toEqual([{ admins: ['dana@example.com', 'erin@example.com'] }]);
    const events = await target.query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM audit_events WHERE type = 'key.created' AND payload->>'keyId' = $1`,
      [created.id],
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({ admins: ['dana@example.com', 'erin@example.com'] });

    expect((await listKeys()).find((k) => k.id === created.id)?.admins).toEqual([
      'dana@example.com',
      'erin@example.com',
    ]);
    const text = await runCli(['keys', 'list'], target.env);
    expectSuccess(text);
    const line = text.stdout.split('\n').find((l) => l.startsWith(created.id));
    expect(line).toContain('admins: dana@example.com, erin@example.com');
    const plain = await createKey('--name', 'no-admins');
    const plainLine = (await runCli(['keys', 'list'], target.env)).stdout
      .split('\n')
      .find((l) => l.startsWith(plain.id));
    expect(plainLine).toContain('admins: none');
  });

  it('keys admins add|remove|set change the admins, each change audited as key.admins.changed', async () => {
    const created = await createKey('--name', 'team-b', '--admin', 'dana@example.com');
    const adminsOf = async () =>
      (
        await target.query<{ admins: string[] }>(
          `SELECT c.admins FROM clients c JOIN api_keys k ON k.client_id = c.id WHERE k.id = $1`,
          [created.id],
        )
      )[0]?.admins;

    const added = await runCli(['keys', 'admins', 'add', created.id, 'Frank@Example.com'], target.env);
    expectSuccess(added);
    expect(added.stdout.trim()).toBe(`changed ${created.id}: admins: dana@example.com, frank@example.com`);
    expect(await adminsOf()).toEqual(['dana@example.com', 'frank@example.com']);

    const again = await runCli(['keys', 'admins', 'add', created.id, 'frank@example.com'], target.env);
    expectSuccess(again);
    expect(again.stdout.trim()).toBe(`unchanged ${created.id}: admins: dana@example.com, frank@example.com`);

    const removed = await runCli(['keys', 'admins', 'remove', created.id, 'dana@example.com'], target.env);
    expectSuccess(removed);
    expect(await adminsOf()).toEqual(['frank@example.com']);

    const set = await runCli(
      ['keys', 'admins', 'set', created.id, 'gina@example.com', 'hal@example.com', '--json'],
      target.env,
    );
    expectSuccess(set);
    expect(JSON.parse(set.stdout)).toEqual({
      keyId: created.id,
      clientId: created.clientId,
      admins: ['gina@example.com', 'hal@example.com'],
      changed: true,
    });
    const cleared = await runCli(['keys', 'admins', 'set', created.id], target.env);
    expectSuccess(cleared);
    expect(cleared.stdout.trim()).toBe(`changed ${created.id}: admins: none`);
    expect(await adminsOf()).toEqual([]);

    const events = await target.query<{ actor: string; payload: Record<string, unknown> }>(
      `SELECT actor, payload FROM audit_events WHERE type = 'key.admins.changed' AND payload->>'keyId' = $1 ORDER BY seq`,
      [created.id],
    );
    expect(events.map((e) => [e.payload['before'], e.payload['admins']])).toEqual([
      [['dana@example.com'], ['dana@example.com', 'frank@example.com']],
      [['dana@example.com', 'frank@example.com'], ['frank@example.com']],
      [['frank@example.com'], ['gina@example.com', 'hal@example.com']],
      [['gina@example.com', 'hal@example.com'], []],
    ]);
    for (const event of events) expect(event.actor).toMatch(/^cli:.+/);
  });

  it('keys admins with a bad email or an unknown key exits non-zero naming it, and changes nothing', async () => {
    const created = await createKey('--name', 'team-c', '--admin', 'dana@example.com');
    const changes = async () =>
      (
        await target.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_events WHERE type = 'key.admins.changed'`,
        )
      )[0]?.n;
    const before = await changes();
    const bad = await runCli(
      ['keys', 'admins', 'add', created.id, 'erin@example.com', 'not-an-email'],
      target.env,
    );
    expectFailure(bad);
    expect(bad.stderr).toContain('EMAIL "not-an-email" is not an email');
    expect(bad.stdout).toBe('');
    const unknown = randomUUID();
    const missing = await runCli(['keys', 'admins', 'set', unknown, 'erin@example.com'], target.env);
    expectFailure(missing);
    expect(missing.stderr).toContain(`no API key with id ${unknown}`);
    expect(await changes()).toBe(before);
    expect((await listKeys()).find((k) => k.id === created.id)?.admins).toEqual(['dana@example.com']);
  });

  it('create with an unknown scope exits non-zero naming it, and creates nothing', async () => {
    const count = async () =>
      (await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys`))[0]?.n;
    const before = await count();
    expect(before).toBeGreaterThanOrEqual(0);

    const result = await runCli(
      ['keys', 'create', '--name', 'x', '--scopes', 'approvals:read,launch:missiles', '--json'],
      target.env,
    );
    expectFailure(result);
    expect(result.stderr).toContain('launch:missiles');
    expect(result.stderr).toMatch(/unknown scope/);
    expect(result.stdout).toBe('');
    expect(await count()).toBe(before);
  });
});

describe('countersign migrate', { timeout: CLI_TEST_TIMEOUT }, () => {
  let target: Target;

  beforeAll(async () => {
    target = await createTarget();
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await killRunningClis();
    await target?.close();
  });

  it('applies the migrations on the first run and says the database is up to date on the second', async () => {
    const names = (await readMigrationFiles()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(0);

    const first = await runCli(['migrate'], target.env);
    expectSuccess(first);
    const firstLines = first.stdout.trim().split('\n');
    const roleLine = usingRealPostgres
      ? 'runtime role countersign_app is up to date'
      : 'embedded database: no runtime role (PGlite shares one session)';
    expect(firstLines).toEqual([
      ...names.map((n) => `applied ${n}`),
      `${names.length} migration(s) applied`,
      roleLine,
    ]);

    const second = await runCli(['migrate'], target.env);
    expectSuccess(second);
    expect(second.stdout.trim()).toBe(
      `database is up to date (${names.length} migrations applied)\n${roleLine}`,
    );

    const rows = await target.query<{ migration_name: string; finished: boolean }>(
      `SELECT migration_name, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows).toEqual(names.map((migration_name) => ({ migration_name, finished: true })));
  });
});
