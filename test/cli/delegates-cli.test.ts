// `countersign delegates add|list|remove` as real processes against an in-process server with an
// admin key: what each prints (text and --json), what is stored, and a refusal that exits non-zero
// with the server's reason and stores nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { delegationSchema } from '../../apps/server/src/http/contracts/delegation.ts';
import { cliEnv, describeRun, killRunningClis, runCli, type CliResult } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

function expectExit(result: CliResult, code: number): void {
  expect(result.signal, describeRun(result)).toBeNull();
  expect(result.code, describeRun(result)).toBe(code);
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

// Every case starts a fresh Node process (tsx); slow on a busy machine, so more time than default.
describe('countersign delegates', { timeout: 120_000 }, () => {
  let t: TestServer;
  let admin: string;

  beforeAll(async () => {
    t = await startTestServer();
    ({ key: admin } = await t.createKey('ops', ['admin']));
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await killRunningClis();
    await t?.close();
  });

  const env = (key = admin) => cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key });
  const delegationCount = async () => t.server.db.prisma.delegation.count();

  it('adds, lists and removes a delegation', async () => {
    const until = inDays(14);
    const added = await runCli(
      [
        'delegates',
        'add',
        '--from',
        'bob@example.com',
        '--to',
        'carol@example.com',
        '--until',
        until,
        '--reason',
        'on leave',
        '--json',
      ],
      env(),
    );
    expectExit(added, 0);
    const created = delegationSchema.strict().parse(JSON.parse(added.stdout));
    expect(created).toMatchObject({ from: 'bob@example.com', to: 'carol@example.com', reason: 'on leave' });
    const row = await t.server.db.prisma.delegation.findUnique({ where: { id: created.id } });
    expect(row).toMatchObject({
      fromEmail: 'bob@example.com',
      toEmail: 'carol@example.com',
      removedAt: null,
    });

    const listed = await runCli(['delegates', 'list'], env());
    expectExit(listed, 0);
    expect(listed.stdout).toContain(
      `${created.id}  carol@example.com for bob@example.com  until ${created.until}  (on leave)`,
    );
    const json = await runCli(['delegates', 'list', '--email', 'carol@example.com', '--json'], env());
    expectExit(json, 0);
    expect(
      z
        .array(delegationSchema)
        .parse(JSON.parse(json.stdout))
        .map((d) => d.id),
    ).toEqual([created.id]);

    const removed = await runCli(['delegates', 'remove', created.id], env());
    expectExit(removed, 0);
    expect(removed.stdout.trim()).toBe(`removed ${created.id}`);
    expect(
      (await t.server.db.prisma.delegation.findUnique({ where: { id: created.id } }))?.removedAt,
    ).not.toBeNull();

    const empty = await runCli(['delegates', 'list', '--email', 'carol@example.com'], env());
    expectExit(empty, 0);
    expect(empty.stdout.trim()).toBe('no delegations');
    const ended = await runCli(['delegates', 'list', '--email', 'carol@example.com', '--ended'], env());
    expect(ended.stdout).toContain(`${created.id}  carol@example.com for bob@example.com  removed `);
  });

  it('exits non-zero with the reason on a refusal, and stores nothing', async () => {
    const before = await delegationCount();
    const self = await runCli(
      ['delegates', 'add', '--from', 'dave@example.com', '--to', 'Dave@example.com', '--until', inDays(3)],
      env(),
    );
    expectExit(self, 3);
    expect(self.stderr).toContain('cannot delegate to themselves');
    const past = await runCli(
      ['delegates', 'add', '--from', 'dave@example.com', '--to', 'erin@example.com', '--until', '2020-01-01'],
      env(),
    );
    expectExit(past, 3);
    expect(past.stderr).toContain('not in the future');
    const unknown = await runCli(['delegates', 'remove', '7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10'], env());
    expectExit(unknown, 3);
    expect(unknown.stderr).toContain('no delegation with id');
    const { key: pipeline } = await t.createKey('pipeline', ['approvals:write']);
    const scoped = await runCli(['delegates', 'list'], env(pipeline));
    expectExit(scoped, 3);
    expect(scoped.stderr).toMatch(/scope/i);
    expect(await delegationCount()).toBe(before);
  });
});
