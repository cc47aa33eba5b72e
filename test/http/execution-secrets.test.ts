// Policy secrets for executions: a rule lists `secrets: [db-prod]`, and only the start of an
// approved, digest-matched request receives the value, once; the chain, the execution row and the
// report keep the name. Refused (nothing revealed, nothing started): a secret the rule does not
// list, a request not approved, another digest, a second start, a secret the server cannot read.
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { generateReport } from '../../apps/server/src/audit/report/generate-report.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { ErrorCode } from '../../apps/server/src/errors.ts';
import type { ExecutionRepresentation } from '../../apps/server/src/http/contracts/execution.ts';
import { createApproval, expectProblem, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const VALUE = 'pg-7Hq2-never-shown-9xKd';
const OTHER_VALUE = 'other-4Zp8-never-shown';
const POLICY = `
secrets:
  db-prod: env:TEST_DB_PROD_PASSWORD
  db-other: env:TEST_DB_OTHER_PASSWORD
  db-missing: env:TEST_DB_UNSET_PASSWORD
rules:
  - name: db-export
    actions: [db.export]
    approvers: [bob@example.com]
    secrets: [db-prod, db-missing]
  - name: everything-else
    actions: ["*"]
    approvers: [bob@example.com]
`;
// The command binding the CLI sends with --exec --secret: approvers see the secrets by name.
const CONTEXT = {
  table: 'users',
  exec: {
    argv: ['psql', '-f', 'export.sql'],
    cwd: '/srv/jobs',
    env: [],
    secrets: ['PGPASSWORD=db-prod', 'OTHER=db-missing'],
  },
};
const DIGEST = payloadDigest('db.export', CONTEXT);
const PGPASSWORD = [{ env: 'PGPASSWORD', secret: 'db-prod' }];

describe('execution secrets: POST /v1/approvals/{id}/execution with secrets', { timeout: 60_000 }, () => {
  let t: TestServer;
  let key: string;
  let captured: CapturedLog;
  const bodies: string[] = [];

  const approved = async (action = 'db.export'): Promise<Approval> => {
    const created = await createApproval(t, key, { action, context: CONTEXT });
    await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId: created.id,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
    return created;
  };
  const execute = async (id: string, body: Record<string, unknown>) => {
    const response = await t.call<ExecutionRepresentation>('POST', `/v1/approvals/${id}/execution`, {
      key,
      body,
    });
    bodies.push(JSON.stringify(response.body));
    return response;
  };
  const refused = async (id: string, body: Record<string, unknown>, code: ErrorCode) => {
    const response = await execute(id, body);
    const problem = expectProblem(response, code);
    expect(JSON.stringify(problem)).not.toContain(VALUE);
    expect(await executionRow(id)).toBeUndefined();
    return problem;
  };
  const executionRow = (requestId: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ outcome: string; secrets: string[] }>(
        'SELECT outcome::text AS outcome, secrets FROM request_executions WHERE request_id = $1',
        [requestId],
      );
      return rows[0];
    });
  const events = (requestId: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ type: string; payload: Record<string, unknown> }>(
        'SELECT type, payload FROM audit_events WHERE request_id = $1 ORDER BY seq',
        [requestId],
      );
      return rows;
    });

  beforeAll(async () => {
    captured = capturingLogger('debug');
    t = await startTestServer({
      policyYaml: POLICY,
      env: {
        TEST_DB_PROD_PASSWORD: VALUE,
        TEST_DB_OTHER_PASSWORD: OTHER_VALUE,
        LOG_LEVEL: 'debug',
      },
      log: captured.log,
    });
    ({ key } = await t.createKey('executor'));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('hands the value to the single start of an approved, digest-matched request, and records the name', async () => {
    const request = await approved();
    const started = await execute(request.id, { payloadDigest: DIGEST, secrets: PGPASSWORD });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.headers.get('cache-control')).toBe('no-store');
    expect(started.body).toMatchObject({
      outcome: 'started',
      secrets: ['PGPASSWORD=db-prod'],
      secretEnv: { PGPASSWORD: VALUE },
    });
    expect(await executionRow(request.id)).toEqual({
      outcome: 'started',
      secrets: ['PGPASSWORD=db-prod'],
    });

    // A second start is refused and reveals nothing.
    await expect(
      (async () => {
        const second = await execute(request.id, { payloadDigest: DIGEST, secrets: PGPASSWORD });
        expectProblem(second, 'ALREADY_EXECUTED');
        return JSON.stringify(second.body);
      })(),
    ).resolves.not.toContain(VALUE);

    // The outcome answer carries the names, never the value.
    const finished = await execute(request.id, { payloadDigest: DIGEST, outcome: 'succeeded', exitCode: 0 });
    expect(finished.status).toBe(200);
    expect(finished.body.secrets).toEqual(['PGPASSWORD=db-prod']);
    expect(finished.body.secretEnv).toBeUndefined();

    const chain = await events(request.id);
    const executed = chain.filter((e) => e.type === 'request.executed');
    expect(executed[0]?.payload).toMatchObject({ outcome: 'started', secrets: ['PGPASSWORD=db-prod'] });
    expect(chain.find((e) => e.type === 'execution.refused')?.payload).toMatchObject({
      reason: 'already_executed',
      secrets: ['PGPASSWORD=db-prod'],
    });
  });

  it('refuses a secret the rule does not list, even one the policy declares', async () => {
    const request = await approved();
    const problem = await refused(
      request.id,
      { payloadDigest: DIGEST, secrets: [{ env: 'PGPASSWORD', secret: 'db-other' }] },
      'SECRET_NOT_ALLOWED',
    );
    expect(problem.detail).toBe(
      'rule "db-export" does not list secret "db-other" (its secrets: db-prod, db-missing)',
    );
    expect(JSON.stringify(problem)).not.toContain(OTHER_VALUE);
    const refusal = (await events(request.id)).find((e) => e.type === 'execution.refused');
    expect(refusal?.payload).toMatchObject({
      reason: 'secret_not_allowed',
      secrets: ['PGPASSWORD=db-other'],
    });

    // A rule without secrets hands out none.
    const other = await approved('deploy.production');
    await refused(
      other.id,
      { payloadDigest: payloadDigest('deploy.production', CONTEXT), secrets: PGPASSWORD },
      'SECRET_NOT_ALLOWED',
    );
  });

  it('refuses a listed secret the approved request did not name (approvers saw no such secret)', async () => {
    const plain = await createApproval(t, key, { context: { table: 'users' } });
    await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId: plain.id,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
    const problem = await refused(
      plain.id,
      { payloadDigest: payloadDigest('db.export', { table: 'users' }), secrets: PGPASSWORD },
      'SECRET_NOT_ALLOWED',
    );
    expect(problem.detail).toContain('the approved request did not name PGPASSWORD=db-prod');
    // Named, but for another variable.
    const request = await approved();
    await refused(
      request.id,
      { payloadDigest: DIGEST, secrets: [{ env: 'PGPASS', secret: 'db-prod' }] },
      'SECRET_NOT_ALLOWED',
    );
  });

  it('refuses a request that is not approved, and another digest', async () => {
    const pending = await createApproval(t, key, { context: CONTEXT });
    await refused(pending.id, { payloadDigest: DIGEST, secrets: PGPASSWORD }, 'EXECUTION_NOT_APPROVED');
    const request = await approved();
    await refused(
      request.id,
      { payloadDigest: payloadDigest('db.export', { table: 'payments' }), secrets: PGPASSWORD },
      'PAYLOAD_DIGEST_MISMATCH',
    );
  });

  it('hands secrets only to a start, and says which listed secret the server cannot read', async () => {
    const request = await approved();
    await refused(
      request.id,
      { payloadDigest: DIGEST, outcome: 'succeeded', secrets: PGPASSWORD },
      'VALIDATION_FAILED',
    );
    const problem = await refused(
      request.id,
      {
        payloadDigest: DIGEST,
        secrets: [...PGPASSWORD, { env: 'OTHER', secret: 'db-missing' }],
      },
      'SECRET_UNAVAILABLE',
    );
    expect(problem.detail).toContain('secret "db-missing" cannot be read on the server');
    expect(captured.text()).toContain('environment variable TEST_DB_UNSET_PASSWORD is not set');
    // The start is still free: nothing was recorded.
    const started = await execute(request.id, { payloadDigest: DIGEST, secrets: PGPASSWORD });
    expect(started.status).toBe(201);
  });

  it('rejects a malformed secrets list with 422 and starts nothing', async () => {
    const request = await approved();
    const problem = await refused(
      request.id,
      {
        payloadDigest: DIGEST,
        secrets: [
          { env: 'PGPASSWORD', secret: 'db-prod' },
          { env: 'PGPASSWORD', secret: 'db-other' },
        ],
      },
      'VALIDATION_FAILED',
    );
    expect(problem.detail).toBeTruthy();
  });

  it('keeps the value out of the log, the audit trail, the receipt and the report', async () => {
    const request = await approved();
    expect((await execute(request.id, { payloadDigest: DIGEST, secrets: PGPASSWORD })).status).toBe(201);
    const got = await t.call('GET', `/v1/approvals/${request.id}`, { key });
    expect(got.status).toBe(200);
    expect(JSON.stringify(got.body)).toContain('receipt');
    expect(JSON.stringify(got.body)).not.toContain(VALUE);

    const audit = await withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ text: string }>(
        `SELECT string_agg(type || ' ' || payload::text, E'\\n') AS text FROM audit_events`,
      );
      return rows[0]?.text ?? '';
    });
    expect(audit).toContain('PGPASSWORD=db-prod');
    expect(audit).not.toContain(VALUE);
    expect(audit).not.toContain(OTHER_VALUE);

    for (const format of ['md', 'json', 'csv'] as const) {
      const chunks: Buffer[] = [];
      const out = new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      });
      await generateReport({
        db: t.server.db,
        period: { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 3_600_000) },
        format,
        out,
        actor: 'cli:test',
        now: () => new Date(),
      });
      const report = Buffer.concat(chunks).toString('utf8');
      expect(report).toContain(request.id);
      expect(report).not.toContain(VALUE);
      expect(report).not.toContain(OTHER_VALUE);
      expect(report).toContain('PGPASSWORD=db-prod');
      if (format === 'csv') {
        const row = parse<Record<string, string>>(report, {
          columns: true,
          comment: '#',
          comment_no_infix: true,
        }).find((r) => r['id'] === request.id);
        expect(row?.['execution_secrets']).toBe('PGPASSWORD=db-prod');
      }
    }

    const log = captured.text();
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(VALUE);
    expect(log).not.toContain(OTHER_VALUE);
    // No response but the starts that were handed the value carried it.
    expect(bodies.filter((b) => b.includes(VALUE))).toHaveLength(3);
  });
});
