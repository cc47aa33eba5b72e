// `countersign audit verify` against real Postgres (DATABASE_URL) and against the embedded
// database (COUNTERSIGN_DATA_DIR, served by another process or opened by the command itself),
// and GET /v1/audit/verify with and without the audit:read scope.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { createDatabase } from '../../apps/server/src/db/client.ts';
import { startEmbeddedPostgres } from '../../apps/server/src/db/embedded.ts';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { registerEventKey } from '../../apps/server/src/audit/chain-store.ts';
import { createApproval, expectProblem } from '../support/api-fixtures.ts';
import { TEST_EVENT_KEY } from '../support/test-event-key.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { silentLogger } from '../support/logging.ts';
import { createTestDatabase, usingRealPostgres } from '../support/test-database.ts';
import { startTestServer } from '../support/test-server.ts';
import { approver, createTestRequest, testDeps } from '../support/use-case-fixtures.ts';

afterEach(async () => {
  await killRunningClis();
});

/** Migrates and writes three events: request.created, decision.recorded, request.approved. */
async function writeChain(url: string): Promise<void> {
  await migrate(url, silentLogger());
  const db = createDatabase(url);
  try {
    // The public half of the key testDeps signs with, as a server registers its own at start-up.
    await registerEventKey(db.pool, TEST_EVENT_KEY);
    const deps = testDeps(db);
    const request = await createTestRequest(deps);
    await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('bob@x.org'),
    });
  } finally {
    await db.close();
  }
}

/** Runs `statement` with the append-only triggers switched off, as a superuser could. */
async function tamper(url: string, statement: string): Promise<void> {
  const db = createDatabase(url, { maxConnections: 1 });
  try {
    await db.pool.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await db.pool.query(statement);
    await db.pool.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
  } finally {
    await db.close();
  }
}

const tamperWithEvent2 = (url: string) =>
  tamper(url, `UPDATE audit_events SET payload = payload || '{"verdict":"deny"}' WHERE seq = 2`);

async function expectIntact(env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCli(['audit', 'verify'], env);
  expect(result.code, describeRun(result)).toBe(0);
  const match = /^intact: 3 events, last seq 3, last hash ([0-9a-f]{64})$/m.exec(result.stdout);
  expect(match, describeRun(result)).not.toBeNull();
  return match?.[1] ?? '';
}

async function expectTamperedAt2(env: NodeJS.ProcessEnv): Promise<void> {
  const result = await runCli(['audit', 'verify'], env);
  expect(result.code, describeRun(result)).toBe(1);
  expect(result.stdout).toMatch(/^TAMPERED at seq 2 \(hash_mismatch\): /m);
  expect(result.stdout).toMatch(/^1 events before it verified$/m);
}

describe('countersign audit verify', () => {
  it.skipIf(!usingRealPostgres)(
    'on a Postgres database given by DATABASE_URL (real Postgres only)',
    async () => {
      const database = await createTestDatabase();
      try {
        await writeChain(database.url);
        const env = cliEnv({ DATABASE_URL: database.url });
        await expectIntact(env);
        const json = await runCli(['audit', 'verify', '--json'], env);
        expect(JSON.parse(json.stdout)).toMatchObject({
          intact: true,
          events: 3,
          firstSeq: '1',
          lastSeq: '3',
        });
        await tamperWithEvent2(database.url);
        await expectTamperedAt2(env);
      } finally {
        await database.drop();
      }
    },
  );

  it('on the embedded database, served by a running process or opened by the command', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'countersign-verify-'));
    const env = cliEnv({ COUNTERSIGN_DATA_DIR: dataDir, DATABASE_URL: undefined });
    let embedded = await startEmbeddedPostgres(dataDir, silentLogger());
    try {
      await writeChain(embedded.url);
      const lastHash = await expectIntact(env); // through the running process's socket
      await embedded.stop();
      expect(await expectIntact(env)).toBe(lastHash); // the command opens the data directory itself

      embedded = await startEmbeddedPostgres(dataDir, silentLogger());
      await tamperWithEvent2(embedded.url);
      await expectTamperedAt2(env);
      await embedded.stop();
      await expectTamperedAt2(env);
    } finally {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('GET /v1/audit/verify', () => {
  it('answers the chain status to an audit:read key and 403 to an approvals-only key', async () => {
    const t = await startTestServer();
    try {
      const approvals = await t.createKey('approvals-only');
      const auditor = await t.createKey('auditor', ['audit:read']);
      await createApproval(t, approvals.key);

      const verified = await t.call('GET', '/v1/audit/verify', { key: auditor.key });
      expect(verified.status).toBe(200);
      // policy.loaded at start-up, two key.created, request.created.
      expect(verified.body).toEqual({
        intact: true,
        events: 4,
        firstSeq: '1',
        lastSeq: '4',
        lastHash: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
      });
      expectProblem(await t.call('GET', '/v1/audit/verify', { key: approvals.key }), 'INSUFFICIENT_SCOPE');
      expectProblem(await t.call('GET', '/v1/audit/verify'), 'API_KEY_MISSING');

      await tamper(t.database.url, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 1`);
      const tampered = await t.call('GET', '/v1/audit/verify', { key: auditor.key });
      expect(tampered.body).toMatchObject({
        intact: false,
        events: 0,
        firstBadSeq: '1',
        problem: 'hash_mismatch',
      });
    } finally {
      await t.close();
    }
  });
});
