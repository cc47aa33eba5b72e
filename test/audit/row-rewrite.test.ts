// A request row rewritten in the database (as a leaked database login could) buys nothing: the
// receipt, the execution endpoint and decisions go by what the audit chain recorded at creation.
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { RECEIPT_TYPE } from '../../apps/server/src/receipts/sign-receipt.ts';
import { createApproval, expectProblem, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { createCookieAgent, csrfTokenOf } from '../support/cookie-agent.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const POLICY = `groups:
  reviewers: [bob@example.com, carol@example.com]
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:reviewers]
`;
const CONTEXT = { table: 'users' };
const FORGED_DIGEST = 'sha256:' + 'e'.repeat(64);

let t: TestServer;
let key: string;

const asOwner = (sql: string, params: unknown[]) =>
  withPgClient(t.database.url, (client) => client.query(sql, params));

async function approvedRequest(): Promise<Approval> {
  const created = await createApproval(t, key, { context: CONTEXT });
  await recordDecision(testDeps(t.server.db, { clock: systemClock }), {
    requestId: created.id,
    verdict: 'approve',
    approver: approver('bob@example.com'),
  });
  return created;
}

beforeAll(async () => {
  t = await startTestServer({ policyYaml: POLICY, env: { COUNTERSIGN_DEV_SIGNIN: 'true' } });
  key = (await t.createKey()).key;
});
afterAll(async () => {
  await t?.close();
});

describe('an approved request whose digest and action were rewritten in SQL', () => {
  it('gets no receipt for the new digest: the read is refused, naming the field', async () => {
    const request = await approvedRequest();
    await asOwner(
      `UPDATE approval_requests SET payload_digest = $2, action = 'db.drop.everything' WHERE id = $1`,
      [request.id, FORGED_DIGEST],
    );
    const read = await t.call<Approval>('GET', `/v1/approvals/${request.id}`, { key });
    const jwks = (await t.call<JSONWebKeySet>('GET', '/v1/keys/receipt')).body;
    if (read.status === 200 && read.body.receipt) {
      const { payload } = await jwtVerify(read.body.receipt, createLocalJWKSet(jwks), {
        algorithms: ['EdDSA'],
        typ: RECEIPT_TYPE,
      });
      expect(payload['payloadDigest']).not.toBe(FORGED_DIGEST);
    }
    const problem = expectProblem(read, 'CHAIN_MISMATCH');
    expect(problem.detail).toMatch(/action/);
    expect(problem.detail).toMatch(/payloadDigest/);
  });

  it('refuses an execution with the new digest', async () => {
    const request = await approvedRequest();
    await asOwner(
      `UPDATE approval_requests SET payload_digest = $2, action = 'db.drop.everything' WHERE id = $1`,
      [request.id, FORGED_DIGEST],
    );
    const started = await t.call('POST', `/v1/approvals/${request.id}/execution`, {
      key,
      body: { payloadDigest: FORGED_DIGEST },
    });
    expectProblem(started, 'PAYLOAD_DIGEST_MISMATCH');
    const { rows } = await asOwner(
      'SELECT count(*)::int AS n FROM request_executions WHERE request_id = $1',
      [request.id],
    );
    expect(rows[0]).toEqual({ n: 0 });
    // What was approved may still run.
    const approvedRun = await t.call('POST', `/v1/approvals/${request.id}/execution`, {
      key,
      body: { payloadDigest: payloadDigest('db.export', CONTEXT) },
    });
    expect(approvedRun.status, JSON.stringify(approvedRun.body)).toBe(201);
  });
});

describe('a pending request whose approvers were rewritten in SQL', () => {
  it('does not let the person written in approve it on the web', async () => {
    const request = await createApproval(t, key, { context: CONTEXT });
    await asOwner(`UPDATE approval_requests SET approvers = '{mallory@example.com}' WHERE id = $1`, [
      request.id,
    ]);
    const agent = createCookieAgent();
    const signin = await agent.request('GET', `${t.url}/signin`);
    const signedIn = await agent.request('POST', `${t.url}/auth/dev`, {
      email: 'mallory@example.com',
      _csrf: csrfTokenOf(signin.text),
    });
    expect(signedIn.status, signedIn.text).toBe(303);
    const page = await agent.request('GET', `${t.url}/requests/${request.id}`);
    await agent.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      _csrf: csrfTokenOf(page.text),
    });
    const { rows } = await asOwner(
      'SELECT r.status::text AS status, (SELECT count(*)::int FROM decisions d WHERE d.request_id = r.id) AS decisions FROM approval_requests r WHERE r.id = $1',
      [request.id],
    );
    expect(rows[0]).toEqual({ status: 'pending', decisions: 0 });
    const refusals = await asOwner(
      `SELECT payload->>'reason' AS reason FROM audit_events WHERE request_id = $1 AND type = 'decision.refused'`,
      [request.id],
    );
    expect(refusals.rows).toEqual([{ reason: 'not_eligible' }]);
  });
});
