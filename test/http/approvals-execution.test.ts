// POST /v1/approvals/{id}/execution: only an approved request whose digest matches may start, once;
// refused attempts are audited; the audit report shows the execution and counts what never ran.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { ErrorCode } from '../../apps/server/src/errors.ts';
import type { ExecutionRepresentation } from '../../apps/server/src/http/contracts/execution.ts';
import { createApproval, expectProblem, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const CONTEXT = { table: 'users', token: 'sk-live-abc123def456' };
const DIGEST = payloadDigest('db.export', CONTEXT);
const OTHER_DIGEST = payloadDigest('db.export', { ...CONTEXT, table: 'payments' });

describe('POST /v1/approvals/{id}/execution', { timeout: 60_000 }, () => {
  let t: TestServer;
  let key: string;
  const seen = new Set<ErrorCode>();

  const approve = async (id: string) => {
    await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId: id,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });
  };
  const approved = async (): Promise<Approval> => {
    const created = await createApproval(t, key, { context: CONTEXT });
    await approve(created.id);
    return created;
  };
  const execute = (id: string, body: Record<string, unknown>, as = key) =>
    t.call<ExecutionRepresentation>('POST', `/v1/approvals/${id}/execution`, { key: as, body });
  const refused = async (id: string, body: Record<string, unknown>, code: ErrorCode) => {
    seen.add(code);
    return expectProblem(await execute(id, body), code);
  };
  const events = (requestId: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ type: string; payload: Record<string, unknown> }>(
        'SELECT type, payload FROM audit_events WHERE request_id = $1 ORDER BY seq',
        [requestId],
      );
      return rows;
    });

  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey('executor'));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('starts an approved request once, then records its outcome once', async () => {
    const request = await approved();
    const started = await execute(request.id, { payloadDigest: DIGEST });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body).toMatchObject({
      requestId: request.id,
      outcome: 'started',
      payloadDigest: DIGEST,
      finishedAt: null,
    });

    await refused(request.id, { payloadDigest: DIGEST, outcome: 'started' }, 'ALREADY_EXECUTED');

    const finished = await execute(request.id, {
      payloadDigest: DIGEST,
      outcome: 'succeeded',
      exitCode: 0,
      detail: 'exported 120000 rows',
    });
    expect(finished.status, JSON.stringify(finished.body)).toBe(200);
    expect(finished.body).toMatchObject({
      outcome: 'succeeded',
      exitCode: 0,
      detail: 'exported 120000 rows',
    });
    expect(Date.parse(finished.body.finishedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(started.body.startedAt),
    );

    await refused(
      request.id,
      { payloadDigest: DIGEST, outcome: 'failed', exitCode: 1 },
      'EXECUTION_FINISHED',
    );
    await refused(request.id, { payloadDigest: DIGEST }, 'ALREADY_EXECUTED');

    const audit = await events(request.id);
    expect(audit.filter((e) => e.type === 'request.executed').map((e) => e.payload['outcome'])).toEqual([
      'started',
      'succeeded',
    ]);
    expect(audit.filter((e) => e.type === 'execution.refused').map((e) => e.payload['reason'])).toEqual([
      'already_executed',
      'finished',
      'already_executed',
    ]);
  });

  it('refuses a digest that is not the approved one (422), and nothing starts', async () => {
    const request = await approved();
    const problem = await refused(request.id, { payloadDigest: OTHER_DIGEST }, 'PAYLOAD_DIGEST_MISMATCH');
    expect(problem.detail).toContain(DIGEST);
    const started = await execute(request.id, { payloadDigest: DIGEST });
    expect(started.status).toBe(201);
  });

  it('refuses requests that are not approved: pending, denied, cancelled', async () => {
    const pending = await createApproval(t, key, { context: CONTEXT });
    await refused(pending.id, { payloadDigest: DIGEST }, 'EXECUTION_NOT_APPROVED');

    const denied = await createApproval(t, key, { context: CONTEXT });
    await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId: denied.id,
      verdict: 'deny',
      approver: approver('bob@example.com'),
    });
    const problem = await refused(denied.id, { payloadDigest: DIGEST }, 'EXECUTION_NOT_APPROVED');
    expect(problem.detail).toContain('denied');

    const cancelled = await createApproval(t, key, { context: CONTEXT });
    expect((await t.call('POST', `/v1/approvals/${cancelled.id}/cancel`, { key })).status).toBe(200);
    await refused(cancelled.id, { payloadDigest: DIGEST }, 'EXECUTION_NOT_APPROVED');
    expect((await events(pending.id)).map((e) => e.type)).toEqual(['request.created', 'execution.refused']);
  });

  it('refuses an outcome before a start', async () => {
    const request = await approved();
    await refused(request.id, { payloadDigest: DIGEST, outcome: 'succeeded' }, 'EXECUTION_NOT_STARTED');
  });

  it('lets exactly one of several concurrent starts through', async () => {
    const request = await approved();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => execute(request.id, { payloadDigest: DIGEST })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const answer of answers.filter((a) => a.status === 409)) expectProblem(answer, 'ALREADY_EXECUTED');
  });

  it('is for the creating client only, with approvals:write, and a strict body', async () => {
    const request = await approved();
    const other = await t.createKey('someone-else');
    expectProblem(await execute(request.id, { payloadDigest: DIGEST }, other.key), 'NOT_FOUND');
    const reader = await t.createKey('reader', ['approvals:read']);
    expectProblem(await execute(request.id, { payloadDigest: DIGEST }, reader.key), 'INSUFFICIENT_SCOPE');
    expectProblem(await execute(request.id, { payloadDigest: 'sha256:nothex' }), 'VALIDATION_FAILED', [
      '/payloadDigest',
    ]);
    expectProblem(await execute(request.id, { payloadDigest: DIGEST, ran: true }), 'VALIDATION_FAILED', [
      '/ran',
    ]);
    expectProblem(
      await execute(request.id, { payloadDigest: DIGEST, outcome: 'maybe' }),
      'VALIDATION_FAILED',
      ['/outcome'],
    );
    expect((await events(request.id)).map((e) => e.type)).not.toContain('execution.refused');
  });

  it('is in /openapi.json', async () => {
    const doc = await t.call<{ paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json');
    expect(Object.keys(doc.body.paths['/v1/approvals/{id}/execution'] ?? {})).toEqual(['post']);
  });

  it('has a case for every execution error code', () => {
    const codes: ErrorCode[] = [
      'EXECUTION_NOT_APPROVED',
      'PAYLOAD_DIGEST_MISMATCH',
      'ALREADY_EXECUTED',
      'EXECUTION_NOT_STARTED',
      'EXECUTION_FINISHED',
    ];
    expect(codes.filter((code) => !seen.has(code))).toEqual([]);
  });

  it('shows executions in the audit report, and counts approved-but-never-executed and refusals', async () => {
    // A requester of its own: the report, filtered by requester, holds only these two requests.
    const requester = 'report-requester@example.com';
    const ran = await createApproval(t, key, { context: CONTEXT, requester: { email: requester } });
    await approve(ran.id);
    const neverRan = await createApproval(t, key, { context: CONTEXT, requester: { email: requester } });
    await approve(neverRan.id);
    expect((await execute(ran.id, { payloadDigest: DIGEST })).status).toBe(201);
    expect((await execute(ran.id, { payloadDigest: DIGEST, outcome: 'failed', exitCode: 2 })).status).toBe(
      200,
    );
    await refused(ran.id, { payloadDigest: DIGEST }, 'ALREADY_EXECUTED');
    await refused(neverRan.id, { payloadDigest: OTHER_DIGEST }, 'PAYLOAD_DIGEST_MISMATCH');

    const auditor = await t.createKey('auditor', ['audit:read']);
    const query = `requester=${encodeURIComponent(requester)}`;
    const csv = await t.call<string>('GET', `/v1/audit/report?format=csv&${query}`, { key: auditor.key });
    expect(csv.status).toBe(200);
    // The CSV opens and closes with a `#` line (the period, the chain status).
    const records = parse<Record<string, string>>(csv.body, {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    const byId = new Map(records.map((r) => [r['id'], r]));
    expect(byId.get(ran.id)).toMatchObject({ execution_outcome: 'failed' });
    expect(Date.parse(byId.get(ran.id)?.['executed_at'] ?? '')).not.toBeNaN();
    expect(byId.get(neverRan.id)).toMatchObject({ executed_at: '', execution_outcome: '' });

    const json = await t.call<{ summary: { executions: Record<string, unknown> } }>(
      'GET',
      `/v1/audit/report?format=json&${query}`,
      { key: auditor.key },
    );
    expect(json.body.summary.executions).toEqual({
      approvedNeverExecuted: 1,
      refusedAttempts: 2,
      secondStartAttempts: 1,
      executed: 1,
      refusedByReason: {
        already_executed: 1,
        digest_mismatch: 1,
        finished: 0,
        not_approved: 0,
        not_started: 0,
        secret_not_allowed: 0,
      },
    });
    const md = await t.call<string>('GET', `/v1/audit/report?format=md&${query}`, { key: auditor.key });
    expect(md.body).toContain('| approved but never executed | 1 |');
    expect(md.body).toContain('| execution attempts refused | 2 |');
    expect(md.body).toMatch(new RegExp(`\\| ${ran.id} \\|.*\\| failed at \\S+ \\|`));
  });
});
