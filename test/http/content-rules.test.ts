// Rules that decide on content, through the real server: a disguised action is no longer
// auto-approved, a big export needs two approvers, a public destination is refused outright
// (403 POLICY_DENIED with the policy's reason, audited as request.refused, nothing stored), and
// `keys:` lets only the named API key's requests through automatically.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, snapshotData, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { callTool, connectHttp } from '../support/mcp-client.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY_YAML = `groups:
  data-owners: [bob@example.com, carol@example.com]
rules:
  - name: public-destinations
    actions: ["db.export"]
    deny: true
    reason: exports to public buckets are not allowed; use s3://exports-internal
    when: { context: /destination, glob: "s3://public-*" }
  - name: big-exports
    actions: ["db.export"]
    approvers: [group:data-owners]
    quorum: 2
    when: { context: /rows, gt: 10000 }
  - name: exports
    actions: ["db.export"]
    approvers: [group:data-owners]
  - name: small-reads
    actions: ["*.read"]
    autoApprove: true
    when: { context: /rows, lte: 1000 }
  - name: reporting-key
    actions: ["report.*"]
    autoApprove: true
    keys: [reporting]
  - name: everything-else
    actions: ["*"]
    approvers: [group:data-owners]
`;

const requester = { email: 'alice@example.com' };

describe('rules on content through HTTP', () => {
  let policyFile: TempPolicyFile;
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    policyFile = await writeTempPolicy(POLICY_YAML);
    t = await startTestServer({ env: { COUNTERSIGN_POLICY: policyFile.path } });
    ({ key } = await t.createKey('pipeline'));
  });
  afterAll(async () => {
    await t?.close();
    await policyFile?.remove();
  });

  it('"grant admin role" sent as analytics.read is not auto-approved by the *.read rule', async () => {
    const response = await t.call<Approval>('POST', '/v1/approvals', {
      key,
      body: {
        action: 'analytics.read',
        title: 'grant admin role',
        requester,
        context: { user: 'mallory@example.com', role: 'admin' },
      },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body).toMatchObject({ status: 'pending', policyRule: 'everything-else' });
    expect(response.body.decisions).toEqual([]);

    const small = await t.call<Approval>('POST', '/v1/approvals', {
      key,
      body: { action: 'analytics.read', requester, context: { table: 'visits', rows: 40 } },
    });
    expect(small.body).toMatchObject({ status: 'approved', policyRule: 'small-reads' });
  });

  it('a db.export of more than 10000 rows needs two approvers; a small one needs one', async () => {
    const big = await t.call<Approval>('POST', '/v1/approvals', {
      key,
      body: { action: 'db.export', requester, context: { table: 'users', rows: 120000 } },
    });
    expect(big.status, JSON.stringify(big.body)).toBe(201);
    expect(big.body).toMatchObject({ status: 'pending', policyRule: 'big-exports', quorum: 2 });
    const small = await t.call<Approval>('POST', '/v1/approvals', {
      key,
      body: { action: 'db.export', requester, context: { table: 'users', rows: 12 } },
    });
    expect(small.body).toMatchObject({ status: 'pending', policyRule: 'exports', quorum: 1 });
  });

  it('a public destination is refused outright: 403 with the reason, audited, nothing stored', async () => {
    const before = await snapshotData(t);
    const response = await t.call('POST', '/v1/approvals', {
      key,
      body: {
        action: 'db.export',
        requester,
        context: { table: 'users', rows: 5, destination: 's3://public-web/users.csv' },
      },
    });
    const problem = expectProblem(response, 'POLICY_DENIED');
    expect(problem.detail).toContain('exports to public buckets are not allowed; use s3://exports-internal');
    const after = await snapshotData(t);
    expect(after.requests).toBe(before.requests);
    expect(after.requestsDigest).toBe(before.requestsDigest);
    expect(after.auditEvents).toBe(before.auditEvents + 1);
    const events = await withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ type: string; request_id: string | null; payload: unknown }>(
        'SELECT type, request_id, payload FROM audit_events WHERE seq > $1 ORDER BY seq',
        [before.lastAuditSeq],
      );
      return rows;
    });
    expect(events).toEqual([
      {
        type: 'request.refused',
        request_id: null,
        payload: expect.objectContaining({
          keyName: 'pipeline',
          code: 'POLICY_DENIED',
          action: 'db.export',
          requester: 'alice@example.com',
          detail: expect.stringContaining('exports to public buckets') as string,
        }) as unknown,
      },
    ]);
  });

  it('keys: auto-approves only requests made with the named key', async () => {
    const { key: reportingKey } = await t.createKey('reporting');
    const bound = await t.call<Approval>('POST', '/v1/approvals', {
      key: reportingKey,
      body: { action: 'report.weekly', requester },
    });
    expect(bound.body).toMatchObject({ status: 'approved', policyRule: 'reporting-key' });
    const other = await t.call<Approval>('POST', '/v1/approvals', {
      key,
      body: { action: 'report.weekly', requester },
    });
    expect(other.body).toMatchObject({ status: 'pending', policyRule: 'everything-else' });
  });

  it('the MCP tools meet the same rules: a deny is refused with its reason, a checked read is approved', async () => {
    const mcp = await connectHttp(t.url, {
      authorization: `Bearer ${key}`,
      'countersign-requester': requester.email,
      'countersign-agent': 'export-bot',
    });
    try {
      const before = await snapshotData(t);
      const denied = await callTool(mcp, 'request_approval', {
        action: 'db.export',
        context: { rows: 5, destination: 's3://public-web/users.csv' },
      });
      expect(denied.result.isError).toBe(true);
      expect(denied.text).toContain('POLICY_DENIED');
      expect(denied.text).toContain('exports to public buckets are not allowed');
      expect((await snapshotData(t)).requests).toBe(before.requests);

      const read = await callTool(mcp, 'request_approval', {
        action: 'analytics.read',
        context: { rows: 3 },
      });
      expect(read.result.isError, read.text).toBeFalsy();
      expect(read.text).toContain('Approved by policy:small-reads');
    } finally {
      await mcp.close();
    }
  });
});
