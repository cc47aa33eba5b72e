// The policy through HTTP (spec §3.3, §3.7, §4): the real server with COUNTERSIGN_POLICY pointing at
// the spec's example file. Widening is refused and stores nothing; unmatched actions are refused;
// auto-approval is a decision by the policy; secrets are masked in the response and in the stored
// row, while the payload digest covers the unmasked context.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApproval,
  expectProblem,
  snapshotData,
  specExampleBody,
  withPgClient,
  type Approval,
} from '../support/api-fixtures.ts';
import { SPEC_POLICY_YAML, writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** The spec §4 example, plus an agent whose owner may never approve its requests. */
const POLICY_YAML = `${SPEC_POLICY_YAML}agents:
  deploy-bot: { owner: erin@example.com }
`;

/** Written here on purpose, not imported: the digest must be reproducible by an outsider. */
function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function digestOf(action: string, context: unknown): string {
  return (
    'sha256:' +
    createHash('sha256')
      .update(JSON.stringify(sortKeysDeep({ action, context })))
      .digest('hex')
  );
}

interface StoredRow {
  context: Record<string, unknown>;
  payload_digest: string;
  row_text: string;
}

interface StoredEvent {
  type: string;
  actor: string;
  payload: Record<string, unknown>;
  text: string;
}

describe('policy through HTTP (spec §4 example)', () => {
  let policyFile: TempPolicyFile;
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    policyFile = await writeTempPolicy(POLICY_YAML);
    t = await startTestServer({ env: { COUNTERSIGN_POLICY: policyFile.path } });
    ({ key } = await t.createKey());
  });
  afterAll(async () => {
    await t?.close();
    await policyFile?.remove();
  });

  async function storedRow(id: string): Promise<StoredRow> {
    return withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<StoredRow>(
        'SELECT r.context, r.payload_digest, r::text AS row_text FROM approval_requests r WHERE r.id = $1',
        [id],
      );
      const [row] = rows;
      if (!row) throw new Error(`no approval_requests row ${id}`);
      return row;
    });
  }

  async function storedEvents(id: string): Promise<StoredEvent[]> {
    return withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<StoredEvent>(
        'SELECT e.type, e.actor, e.payload, e::text AS text FROM audit_events e WHERE e.request_id = $1 ORDER BY e.seq',
        [id],
      );
      return rows;
    });
  }

  describe('a request that widens its rule is refused and stores nothing', () => {
    it.each([
      {
        field: 'approvers',
        body: { action: 'db.export', approvers: ['bob@example.com', 'mallory@example.com'] },
        pointers: ['/approvers/1'],
      },
      { field: 'quorum', body: { action: 'iam.role.grant', quorum: 1 }, pointers: ['/quorum'] },
      { field: 'expiresIn', body: { action: 'iam.role.grant', expiresIn: '2h' }, pointers: ['/expiresIn'] },
      { field: 'channel', body: { action: 'db.export', channel: 'slack:C0SEC' }, pointers: ['/channel'] },
      {
        field: 'quorum the requester cannot reach (agent owner excluded too)',
        body: {
          action: 'iam.role.grant',
          requester: { email: 'dave@example.com' },
          agent: { name: 'deploy-bot' },
        },
        pointers: ['/approvers'],
      },
    ])('$field → 422 POLICY_VIOLATION with the pointer', async ({ body, pointers }) => {
      const before = await snapshotData(t);
      const response = await t.call('POST', '/v1/approvals', {
        key,
        body: { requester: { email: 'alice@example.com' }, ...body },
      });
      const problem = expectProblem(response, 'POLICY_VIOLATION', pointers);
      expect(problem.errors?.map((e) => e.pointer)).toEqual(pointers);
      expect(await snapshotData(t)).toEqual(before);
    });

    it('the spec §2 example body widens the channel of data-exports → /channel only', async () => {
      const before = await snapshotData(t);
      const response = await t.call('POST', '/v1/approvals', { key, body: specExampleBody() });
      const problem = expectProblem(response, 'POLICY_VIOLATION', ['/channel']);
      expect(problem.errors?.map((e) => e.pointer)).toEqual(['/channel']);
      expect(problem.detail).toContain('data-exports');
      const after = await snapshotData(t);
      expect(after).toEqual(before);
      expect(after.requests).toBe(before.requests);
      expect(after.auditEvents).toBe(before.auditEvents);
    });
  });

  it('an action that matches no rule → 422 NO_MATCHING_RULE, nothing stored', async () => {
    const before = await snapshotData(t);
    const response = await t.call('POST', '/v1/approvals', {
      key,
      body: { action: 'k8s.deploy', requester: { email: 'alice@example.com' } },
    });
    expectProblem(response, 'NO_MATCHING_RULE', ['/action']);
    // "db.exporter" is not "db.export": a glob without "*" matches only itself.
    const near = await t.call('POST', '/v1/approvals', {
      key,
      body: { action: 'db.exporter', requester: { email: 'alice@example.com' } },
    });
    expectProblem(near, 'NO_MATCHING_RULE', ['/action']);
    expect(await snapshotData(t)).toEqual(before);
  });

  it('a request gets its rule’s approvers, quorum, channel and expiry', async () => {
    const exportRequest = await createApproval(t, key, { action: 'db.export.s3' });
    expect(exportRequest).toMatchObject({
      status: 'pending',
      policyRule: 'data-exports',
      approvers: ['bob@example.com', 'carol@example.com'],
      quorum: 1,
      channel: 'slack:C0DATA',
    });
    expect(Date.parse(exportRequest.expiresAt) - Date.parse(exportRequest.createdAt)).toBe(3600_000);

    const iamRequest = await createApproval(t, key, { action: 'iam.role.grant' });
    expect(iamRequest).toMatchObject({
      policyRule: 'privilege-escalation',
      approvers: ['dave@example.com', 'erin@example.com', 'frank@example.com'],
      quorum: 2,
      channel: 'slack:C0SEC',
    });
    expect(Date.parse(iamRequest.expiresAt) - Date.parse(iamRequest.createdAt)).toBe(1800_000);
  });

  it('a request may narrow: fewer approvers, higher quorum, shorter expiry, another listed channel', async () => {
    const narrowed = await createApproval(t, key, {
      action: 'iam.role.grant',
      approvers: ['Dave@Example.com', 'frank@example.com'],
      quorum: 2,
      expiresIn: 600,
      channel: 'teams:19:abc@thread.tacv2',
    });
    expect(narrowed).toMatchObject({
      policyRule: 'privilege-escalation',
      approvers: ['dave@example.com', 'frank@example.com'],
      quorum: 2,
      channel: 'teams:19:abc@thread.tacv2',
    });
    expect(Date.parse(narrowed.expiresAt) - Date.parse(narrowed.createdAt)).toBe(600_000);
  });

  it('a "*.read" action is auto-approved by policy:read-only, audited in order', async () => {
    const response = await t.call<Approval>('POST', '/v1/approvals', {
      key,
      body: { action: 'db.users.read', requester: { email: 'alice@example.com' }, context: { rows: 10 } },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const approval = response.body;
    expect(approval).toMatchObject({
      status: 'approved',
      policyRule: 'read-only',
      quorum: 1,
      channel: 'slack:C0APPROVALS',
    });
    expect(approval.decisions).toEqual([
      {
        approver: { email: 'policy:read-only', platform: 'policy', platformUserId: null, displayName: null },
        verdict: 'approve',
        reason: null,
        at: expect.any(String) as string,
      },
    ]);
    expect(approval.decidedAt).not.toBeNull();

    const events = await storedEvents(approval.id);
    expect(events.map((e) => e.type)).toEqual(['request.created', 'decision.recorded', 'request.approved']);
    expect(events.slice(1).map((e) => e.actor)).toEqual(['policy:read-only', 'policy:read-only']);

    const read = await t.call<Approval>('GET', `/v1/approvals/${approval.id}`, { key });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(approval);
  });

  describe('masking and the payload digest', () => {
    const CONNECTION = 'postgres://exporter:Conn3ctionPassw0rd@db.internal:5432/prod';
    const TOKEN = 'sk-live-abc123';
    const DESTINATION = 's3://secret-bucket/export';
    const NESTED_PASSWORD = 'N3stedPassw0rdValue';
    const context = {
      table: 'users',
      rows: 120000,
      connection: CONNECTION,
      destination: DESTINATION,
      token: TOKEN,
      options: { compress: true, auth: { password: NESTED_PASSWORD } },
    };
    const secrets = [CONNECTION, 'Conn3ctionPassw0rd', TOKEN, DESTINATION, NESTED_PASSWORD];
    let approval: Approval;

    beforeAll(async () => {
      approval = await createApproval(t, key, { action: 'db.export', context, sensitive: ['/destination'] });
    });

    it('masks the rule’s pointer (/connection), the request’s (/destination) and secret keys in the response', () => {
      expect(approval.policyRule).toBe('data-exports');
      expect(approval.context).toEqual({
        table: 'users',
        rows: 120000,
        connection: '••••',
        destination: '••••',
        token: '••••c123',
        options: { compress: true, auth: '••••' },
      });
      const text = JSON.stringify(approval);
      for (const secret of secrets) expect(text).not.toContain(secret);
    });

    it('stores the same masked context, and no unmasked secret anywhere in the row', async () => {
      const row = await storedRow(approval.id);
      expect(row.context).toEqual(approval.context);
      for (const secret of secrets) expect(row.row_text).not.toContain(secret);
      expect(row.row_text).toContain('••••c123');
    });

    it('keeps no secret in the request’s audit events either', async () => {
      const events = await storedEvents(approval.id);
      expect(events.map((e) => e.type)).toEqual(['request.created']);
      for (const event of events) for (const secret of secrets) expect(event.text).not.toContain(secret);
    });

    it('GET returns the masked context too', async () => {
      const read = await t.call<Approval>('GET', `/v1/approvals/${approval.id}`, { key });
      expect(read.status).toBe(200);
      expect(read.body.context).toEqual(approval.context);
    });

    it('the digest is over the unmasked context, in the response and in the stored row', async () => {
      const expected = digestOf('db.export', context);
      expect(approval.payloadDigest).toBe(expected);
      expect(approval.payloadDigest).not.toBe(digestOf('db.export', approval.context));
      expect((await storedRow(approval.id)).payload_digest).toBe(expected);
    });

    it('the digest does not depend on key order in the request', async () => {
      const reordered = {
        options: { auth: { password: NESTED_PASSWORD }, compress: true },
        token: TOKEN,
        destination: DESTINATION,
        connection: CONNECTION,
        rows: 120000,
        table: 'users',
      };
      const again = await createApproval(t, key, { action: 'db.export', context: reordered });
      expect(again.payloadDigest).toBe(approval.payloadDigest);
    });

    it('a fixed small payload has the digest sha256sum gives for its canonical form', async () => {
      // printf '%s' '{"action":"db.export","context":{"a":1,"b":[2,{"c":3}]}}' | sha256sum
      const small = await createApproval(t, key, {
        action: 'db.export',
        context: { b: [2, { c: 3 }], a: 1 },
      });
      expect(small.payloadDigest).toBe(
        'sha256:99270698abc515dabc96cafe03b2c652b79e4fcffcbb7dbcf827ddcdfc8d10fb',
      );
    });
  });

  it('the whole-document pointer "" masks every member and the request still renders', async () => {
    const response = await t.call<Approval>('POST', '/v1/approvals', {
      key,
      body: {
        action: 'db.export',
        requester: { email: 'alice@example.com' },
        context: { table: 'users', where: 'id < 10' },
        sensitive: [''],
      },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body.context).toEqual({ table: '••••', where: '••••' });
    const read = await t.call<Approval>('GET', `/v1/approvals/${response.body.id}`, { key });
    expect(read.status).toBe(200);
    expect(read.body.context).toEqual({ table: '••••', where: '••••' });
    expect((await storedRow(response.body.id)).context).toEqual({ table: '••••', where: '••••' });
  });
});

describe('masking the requester name (a rule asks, or it quotes a credential)', () => {
  let policyFile: TempPolicyFile;
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    policyFile = await writeTempPolicy(`rules:
  - name: hr
    actions: ["hr.*"]
    approvers: [bob@example.com]
    maskRequesterName: true
  - name: everything
    actions: ["*"]
    approvers: [bob@example.com]
`);
    t = await startTestServer({ env: { COUNTERSIGN_POLICY: policyFile.path } });
    ({ key } = await t.createKey());
  });
  afterAll(async () => {
    await t?.close();
    await policyFile?.remove();
  });

  const storedName = (id: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ requester_name: string | null; events: string }>(
        `SELECT r.requester_name,
                (SELECT string_agg(e.payload::text, '|') FROM audit_events e WHERE e.request_id = r.id) AS events
           FROM approval_requests r WHERE r.id = $1`,
        [id],
      );
      return rows[0];
    });

  it('masks requester.name whole where the rule says maskRequesterName', async () => {
    const created = await createApproval(t, key, {
      action: 'hr.salary.read',
      requester: { email: 'alice@example.com', name: 'Alice Confidential' },
    });
    const { proof, shown, ...named } = created.requester as Record<string, unknown>;
    expect(named).toEqual({ email: 'alice@example.com', name: '••••' });
    expect(proof).toMatchObject({ kind: 'claimed' });
    expect(shown).toMatch(/^claimed by key /);
    const stored = await storedName(created.id);
    expect(stored?.requester_name).toBe('••••');
    expect(stored?.events ?? '').not.toContain('Confidential');
  });

  it('masks a credential quoted in requester.name under any rule, and leaves plain names alone', async () => {
    const quoted = await createApproval(t, key, {
      requester: { email: 'alice@example.com', name: 'Alice glpat-AbCdEf0123456789xYz_' },
    });
    expect(quoted.requester.name).toBe('Alice ••••xYz_');
    expect((await storedName(quoted.id))?.requester_name).toBe('Alice ••••xYz_');
    const plain = await createApproval(t, key, {
      requester: { email: 'alice@example.com', name: 'Alice Adams' },
    });
    expect(plain.requester.name).toBe('Alice Adams');
  });
});
