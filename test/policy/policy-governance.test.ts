// Policy changes under two-person review, end to end on the real server: the first start adopts
// the file as version 1; a proposal becomes a policy.change request for policy-admins (quorum 2,
// the proposer refused); its approval stores version 2 with text and diff in the chain, and a
// second running replica on the same database switches to it without a restart. Pending requests
// keep their rule. Bad proposals (422) and stale approvals (409) change nothing; a restart with a
// differing file does not apply it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { generateReport } from '../../apps/server/src/audit/report/generate-report.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { isAppError } from '../../apps/server/src/errors.ts';
import type {
  PolicyVersionBody,
  PolicyVersionSummaryBody,
} from '../../apps/server/src/http/contracts/policy-version.ts';
import { createApproval, expectProblem, snapshotData, withPgClient } from '../support/api-fixtures.ts';
import { capturingLogger } from '../support/logging.ts';
import { createCookieAgent, csrfTokenOf } from '../support/cookie-agent.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { createMigratedTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { testDeps } from '../support/use-case-fixtures.ts';

const V1 = `groups:
  policy-admins: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - name: deploys
    actions: ["deploy.*"]
    approvers: [dave@example.com]
`;

const V2 = `groups:
  policy-admins: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - name: deploys-reviewed
    actions: ["deploy.*"]
    approvers: [erin@example.com, frank@example.com]
    quorum: 2
`;

interface ProposalAnswer {
  proposal: { id: string; baseVersion: number; digest: string; diff: string; proposer: string };
  approval: {
    id: string;
    status: string;
    action: string;
    approvers: string[];
    quorum: number;
    context: Record<string, unknown>;
  };
}

interface EventRow {
  type: string;
  actor: string;
  payload: Record<string, unknown>;
}

async function events(database: TestDatabase, type: string): Promise<EventRow[]> {
  return withPgClient(database.url, async (client) => {
    const { rows } = await client.query<EventRow>(
      'SELECT type, actor, payload FROM audit_events WHERE type = $1 ORDER BY seq',
      [type],
    );
    return rows;
  });
}

async function versions(database: TestDatabase): Promise<number[]> {
  return withPgClient(database.url, async (client) => {
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM policy_versions ORDER BY version',
    );
    return rows.map((r) => r.version);
  });
}

describe('policy changes under two-person review, across two replicas', () => {
  let database: TestDatabase;
  let file: TempPolicyFile;
  let a: TestServer;
  let b: TestServer;
  let db: Database;
  let admin: string;
  let writer: string;

  const decide = (requestId: string, email: string) =>
    recordDecision(testDeps(db, { clock: systemClock }), {
      requestId,
      verdict: 'approve',
      approver: { email, platform: 'web' },
    });

  const propose = (server: TestServer, text: string, proposer = 'alice@example.com') =>
    server.call<ProposalAnswer>('POST', '/v1/policy/proposals', {
      key: admin,
      body: { policy: text, requester: { email: proposer }, reason: 'tighten deploys' },
    });

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    file = await writeTempPolicy(V1);
    a = await startTestServer({ database, env: { COUNTERSIGN_POLICY: file.path } });
    b = await startTestServer({
      database,
      env: { COUNTERSIGN_POLICY: file.path, COUNTERSIGN_DEV_SIGNIN: 'true' },
    });
    db = createDatabase(database.url);
    admin = (await a.createKey('policy-admin', ['admin'])).key;
    writer = (await a.createKey('writer')).key;
  }, 120_000);

  afterAll(async () => {
    await b?.close();
    await a?.close();
    await db?.close();
    await database?.drop();
    await file?.remove();
  });

  it('adopts the file as version 1 at the first start, once, audited', async () => {
    expect(await versions(database)).toEqual([1]);
    const adopted = await events(database, 'policy.adopted');
    expect(adopted).toHaveLength(1);
    expect(adopted[0]?.payload).toMatchObject({ version: 1, source: file.path, text: V1 });
    expect(await events(database, 'policy.file_ignored')).toHaveLength(0);
  });

  it('refuses a proposal that does not validate with every error and its line, storing nothing', async () => {
    const before = await snapshotData(a);
    const bad = `groups:\n  policy-admins: [alice@example.com]\nrules:\n  - name: x\n    actions: ["deploy.*"]\n    quorum: zero\n    colour: red\n`;
    const response = await propose(a, bad);
    const problem = expectProblem(response, 'POLICY_INVALID', ['/policy']);
    const messages = problem.errors?.map((e) => e.message) ?? [];
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line 6, column \d+: rules\[0\]\.quorum: /),
        expect.stringMatching(/^line 7, column \d+: rules\[0\]\.colour: unknown field/),
      ]),
    );
    expect(await snapshotData(a)).toEqual(before);
    expect(
      await withPgClient(
        database.url,
        async (c) => (await c.query('SELECT 1 FROM policy_proposals')).rowCount,
      ),
    ).toBe(0);
  });

  it('keeps policy.change for proposals: an ordinary request naming it is refused', async () => {
    const response = await a.call('POST', '/v1/approvals', {
      key: writer,
      body: { action: 'policy.change', requester: { email: 'mallory@example.com' } },
    });
    expectProblem(response, 'POLICY_VIOLATION', ['/action']);
  });

  it('proposal → two admins approve (the proposer refused) → the other replica applies it without restart', async () => {
    const pendingUnderV1 = await createApproval(a, writer, {
      action: 'deploy.api',
      requester: { email: 'zed@example.com' },
    });
    expect(pendingUnderV1.approvers).toEqual(['dave@example.com']);

    const response = await propose(a, V2);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const { proposal, approval } = response.body;
    expect(approval).toMatchObject({
      action: 'policy.change',
      status: 'pending',
      quorum: 2,
      approvers: ['alice@example.com', 'bob@example.com', 'carol@example.com'],
    });
    expect(proposal).toMatchObject({ baseVersion: 1, proposer: 'alice@example.com' });
    expect(proposal.diff).toContain('-    approvers: [dave@example.com]');
    expect(proposal.diff).toContain('+    approvers: [erin@example.com, frank@example.com]');
    // The card and the console show the request's context: the diff is in it.
    expect(approval.context).toMatchObject({ baseVersion: 1, diff: proposal.diff });

    // The console page of the request shows the diff as written (HTML-escaped).
    const agent = createCookieAgent();
    const signin = await agent.request('GET', `${b.url}/signin`);
    await agent.request('POST', `${b.url}/auth/dev`, {
      email: 'bob@example.com',
      _csrf: csrfTokenOf(signin.text),
    });
    const page = await agent.request('GET', `${b.url}/requests/${approval.id}`);
    expect(page.status, page.text).toBe(200);
    expect(page.text).toContain('<pre class="policy-diff">');
    expect(page.text).toContain('+    approvers: [erin@example.com, frank@example.com]');

    await expect(decide(approval.id, 'alice@example.com')).rejects.toSatisfy(
      (e) => isAppError(e) && e.code === 'SELF_APPROVAL_FORBIDDEN',
    );
    await decide(approval.id, 'bob@example.com');
    expect(await versions(database)).toEqual([1]);
    const decided = await decide(approval.id, 'carol@example.com');
    expect(decided.request.status).toBe('approved');
    expect(await versions(database)).toEqual([1, 2]);

    const [changed] = await events(database, 'policy.changed');
    expect(changed?.payload).toMatchObject({
      version: 2,
      proposalId: proposal.id,
      requestId: approval.id,
      proposer: 'alice@example.com',
      approvals: ['bob@example.com', 'carol@example.com'],
      text: V2,
      diff: proposal.diff,
    });

    // Replica b was running all along: it switches on the notification, without a restart.
    const underV2 = await pollUntil(
      async () =>
        (
          await b.call<{ approvers: string[]; quorum: number }>('POST', '/v1/approvals', {
            key: writer,
            body: { action: 'deploy.web', requester: { email: 'zed@example.com' } },
          })
        ).body,
      (body) => body.approvers?.includes('erin@example.com') ?? false,
      { timeoutMs: 10_000, what: 'replica b to apply version 2' },
    );
    expect(underV2).toMatchObject({ approvers: ['erin@example.com', 'frank@example.com'], quorum: 2 });

    // The request made under version 1 keeps its rule, and the chain says which version it was.
    const held = await a.call<{ approvers: string[] }>('GET', `/v1/approvals/${pendingUnderV1.id}`, {
      key: writer,
    });
    expect(held.body.approvers).toEqual(['dave@example.com']);
    const created = await events(database, 'request.created');
    const versionOf = (id: string) =>
      withPgClient(
        database.url,
        async (c) =>
          (
            await c.query<{ v: number }>(
              `SELECT (payload->>'policyVersion')::int AS v FROM audit_events WHERE type = 'request.created' AND request_id = $1`,
              [id],
            )
          ).rows[0]?.v,
      );
    expect(created.length).toBeGreaterThan(2);
    expect(await versionOf(pendingUnderV1.id)).toBe(1);
    await expect(decide(pendingUnderV1.id, 'dave@example.com')).resolves.toMatchObject({ recorded: true });
  });

  it('a proposal approved after another was approved first is refused with 409 and nothing is applied', async () => {
    const first = (
      await propose(a, `${V2}  - name: reads\n    actions: ["db.read"]\n    approvers: [erin@example.com]\n`)
    ).body;
    const second = (
      await propose(
        a,
        `${V2}  - name: exports\n    actions: ["db.export"]\n    approvers: [frank@example.com]\n`,
        'bob@example.com',
      )
    ).body;
    expect(first.proposal.baseVersion).toBe(2);
    expect(second.proposal.baseVersion).toBe(2);
    await decide(first.approval.id, 'bob@example.com');
    await decide(first.approval.id, 'carol@example.com');
    expect(await versions(database)).toEqual([1, 2, 3]);

    await decide(second.approval.id, 'alice@example.com');
    const before = await snapshotData(a);
    await expect(decide(second.approval.id, 'carol@example.com')).rejects.toSatisfy(
      (e) => isAppError(e) && e.code === 'POLICY_CONFLICT',
    );
    expect(await versions(database)).toEqual([1, 2, 3]);
    expect(await snapshotData(a)).toEqual(before);
    const status = await a.call<{ status: string }>('GET', `/v1/approvals/${second.approval.id}`, {
      key: admin,
    });
    expect(status.body.status).toBe('pending');
  });

  it('a restart with a policy file that differs from the version in force does not apply it', async () => {
    await a.close();
    const captured = capturingLogger('info');
    a = await startTestServer({ database, log: captured.log, env: { COUNTERSIGN_POLICY: file.path } });
    expect(await versions(database)).toEqual([1, 2, 3]);
    const ignored = await events(database, 'policy.file_ignored');
    expect(ignored.at(-1)?.payload).toMatchObject({ source: file.path, activeVersion: 3 });
    expect(captured.text()).toContain('was NOT applied: propose it');
    // Still version 3's rule, not the file's.
    const request = await createApproval(a, writer, {
      action: 'deploy.db',
      requester: { email: 'zed@example.com' },
    });
    expect(request.approvers).toEqual(['erin@example.com', 'frank@example.com']);
  });

  it("the report counts the policy's adoption, proposals, changes and ignored files as administrative actions", async () => {
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    const result = await generateReport({
      db,
      period: { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) },
      format: 'md',
      out,
      actor: 'cli:auditor',
      now: () => new Date(),
    });
    const proposed = (await events(database, 'policy.proposed')).length;
    const ignored = (await events(database, 'policy.file_ignored')).length;
    expect(proposed).toBeGreaterThanOrEqual(3);
    expect(ignored).toBeGreaterThanOrEqual(1);
    expect(result.summary.adminActions.counts).toMatchObject({
      'policy.adopted': 1,
      'policy.proposed': proposed,
      'policy.changed': 2,
      'policy.file_ignored': ignored,
    });
    expect(text).toContain('| policy.adopted | 1 |');
    expect(text).toContain(`| policy.proposed | ${proposed} |`);
    expect(text).toContain('| policy.changed | 2 |');
    expect(text).toContain(`| policy.file_ignored | ${ignored} |`);
  });

  it('GET /v1/policy/versions pages through the versions, newest first, with proposer and approvers', async () => {
    type Page = { items: PolicyVersionSummaryBody[]; nextCursor: string | null };
    const first = await a.call<Page>('GET', '/v1/policy/versions?limit=2', { key: admin });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.items.map((v) => v.version)).toEqual([3, 2]);
    const [v3, v2] = first.body.items;
    expect(v2).toMatchObject({
      kind: 'changed',
      proposer: 'alice@example.com',
      approvers: ['bob@example.com', 'carol@example.com'],
    });
    expect(v2?.source).toBe(`proposal ${v2?.proposalId}`);
    expect(v2?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v3).toMatchObject({ kind: 'changed', approvers: ['bob@example.com', 'carol@example.com'] });
    expect(v2).not.toHaveProperty('text');
    expect(first.body.nextCursor).toEqual(expect.any(String));

    const second = await a.call<Page>(
      'GET',
      `/v1/policy/versions?limit=2&cursor=${encodeURIComponent(first.body.nextCursor ?? '')}`,
      { key: admin },
    );
    expect(second.body.items).toEqual([
      {
        version: 1,
        digest: expect.stringMatching(/^sha256:/) as string,
        source: file.path,
        kind: 'adopted',
        at: expect.any(String) as string,
        proposalId: null,
        proposer: null,
        approvers: [],
        adoptedBy: expect.any(String) as string,
      },
    ]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('GET /v1/policy/versions/{version} gives the text and diff; unknown is 404, bad input 422, no admin 403', async () => {
    const v2 = await a.call<PolicyVersionBody>('GET', '/v1/policy/versions/2', { key: admin });
    expect(v2.status, JSON.stringify(v2.body)).toBe(200);
    expect(v2.body).toMatchObject({ version: 2, text: V2, proposer: 'alice@example.com' });
    expect(v2.body.diff).toContain('+    approvers: [erin@example.com, frank@example.com]');
    const [changed] = await events(database, 'policy.changed');
    expect(v2.body.digest).toBe(changed?.payload['digest']);

    const before = await snapshotData(a);
    expectProblem(await a.call('GET', '/v1/policy/versions/99', { key: admin }), 'NOT_FOUND');
    expectProblem(await a.call('GET', '/v1/policy/versions/two', { key: admin }), 'VALIDATION_FAILED', [
      '/version',
    ]);
    expectProblem(await a.call('GET', '/v1/policy/versions/0', { key: admin }), 'VALIDATION_FAILED');
    expectProblem(await a.call('GET', '/v1/policy/versions?limit=0', { key: admin }), 'VALIDATION_FAILED', [
      '/limit',
    ]);
    expectProblem(await a.call('GET', '/v1/policy/versions?sort=asc', { key: admin }), 'VALIDATION_FAILED', [
      '/sort',
    ]);
    expectProblem(
      await a.call('GET', '/v1/policy/versions?cursor=bm90LWEtY3Vyc29y', { key: admin }),
      'INVALID_CURSOR',
      ['/cursor'],
    );
    expectProblem(await a.call('GET', '/v1/policy/versions', { key: writer }), 'INSUFFICIENT_SCOPE');
    expect(await snapshotData(a)).toEqual(before);
  });
});
