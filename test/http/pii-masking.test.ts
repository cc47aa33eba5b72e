// A rule's `mask: [pii]` (and the policy-wide default) masks personal data in what is stored and
// shown, while the digest stays over the context as the caller sent it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `defaults:
  mask: [pii]
rules:
  - name: customer-exports
    actions: ["crm.export"]
    approvers: [bob@example.com]
  - name: internal
    actions: ["ops.*"]
    approvers: [bob@example.com]
    mask: []
`;

const CONTEXT = {
  customer: { email: 'dana@example.com', phone: '+14155550123', dob: '1990-01-01' },
  card: '4111 1111 1111 1111',
  rows: 4200,
};

describe('mask: [pii]', () => {
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    t = await startTestServer({ policyYaml: POLICY });
    ({ key } = await t.createKey());
  });
  afterAll(async () => {
    await t?.close();
  });

  async function create(action: string) {
    const created = await t.call<{ id: string; context: unknown; payloadDigest: string }>(
      'POST',
      '/v1/approvals',
      {
        key,
        body: { action, requester: { email: 'alice@example.com' }, context: CONTEXT },
      },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  it('masks personal data from the policy default, stores only the masked copy, digests the original', async () => {
    const created = await create('crm.export');
    const masked = {
      customer: { email: '••••@example.com', phone: '••••0123', dob: '••••' },
      card: '••••1111',
      rows: 4200,
    };
    expect(created.context).toEqual(masked);
    expect(created.payloadDigest).toBe(payloadDigest('crm.export', CONTEXT));
    const stored = await withPgClient(
      t.database.url,
      async (client) =>
        (
          await client.query<{ row: string }>(
            'SELECT r::text AS row FROM approval_requests r WHERE id = $1',
            [created.id],
          )
        ).rows[0]?.row,
    );
    for (const clear of ['dana@example.com', '4155550123', '1990-01-01', '4111 1111 1111 1111']) {
      expect(stored).not.toContain(clear);
    }
  });

  it('a rule can opt out with mask: []', async () => {
    const created = await create('ops.export');
    expect(created.context).toEqual(CONTEXT);
  });
});
