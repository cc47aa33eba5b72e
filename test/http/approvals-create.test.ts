// POST /v1/approvals: the spec's example, the response shape, the payload digest and the defaults.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval, expectProblem, specExampleBody, type Approval } from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

/** Written here on purpose, not imported: the digest must be reproducible by an outsider. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function digestOf(action: string, context: Record<string, unknown>): string {
  return 'sha256:' + createHash('sha256').update(sortedJson({ action, context })).digest('hex');
}

const HOUR_MS = 3_600_000;

describe('POST /v1/approvals', () => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey());
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates the spec example with every field and returns it as GET does', async () => {
    const body = specExampleBody();
    body.requester.email = 'Alice@Example.COM';
    body.approvers = ['Bob@Example.com'];
    const before = Date.now();
    const created = await t.call<Approval>('POST', '/v1/approvals', { key, body });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(created.headers.get('idempotent-replayed')).toBeNull();
    const approval = created.body;
    expect(approval.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created.headers.get('location')).toBe(`/v1/approvals/${approval.id}`);
    expect(approval).toMatchObject({
      status: 'pending',
      action: 'db.export',
      title: 'Export users table to the analytics bucket',
      reason: 'Quarterly churn analysis',
      requester: { email: 'alice@example.com', name: 'Alice' },
      agent: { name: 'analytics-agent', model: 'gpt-x', runId: 'run_123' },
      approvers: ['bob@example.com'],
      quorum: 1,
      channel: 'slack:C0123ABCD',
      callbackUrl: body.callbackUrl,
      decisions: [],
      decidedAt: null,
    });
    // Non-secret context values come back as sent (secret ones may be masked, spec §3.7).
    expect(approval.context).toMatchObject({ table: 'users', rows: 120000 });
    expect(Object.keys(approval.context).sort()).toEqual(['destination', 'rows', 'table', 'token']);
    // The digest covers the unmasked {action, context} as sent.
    expect(approval.payloadDigest).toBe(digestOf(body.action, body.context));
    const createdAt = Date.parse(approval.createdAt);
    expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(createdAt).toBeLessThanOrEqual(Date.now() + 1000);
    expect(Date.parse(approval.expiresAt) - createdAt).toBe(HOUR_MS);

    const read = await t.call<Approval>('GET', `/v1/approvals/${approval.id}`, { key });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(approval);
  });

  it('digests key order away: the same context in another order gives the same digest', async () => {
    const context = { b: [3, { z: 1, a: null }], a: { y: 'é', x: true }, 'Z-upper': 1.5 };
    const first = await createApproval(t, key, { action: 'iam.role.grant', context });
    const reordered = { 'Z-upper': 1.5, a: { x: true, y: 'é' }, b: [3, { a: null, z: 1 }] };
    const second = await createApproval(t, key, { action: 'iam.role.grant', context: reordered });
    expect(first.payloadDigest).toBe(digestOf('iam.role.grant', context));
    expect(second.payloadDigest).toBe(first.payloadDigest);
    expect(second.id).not.toBe(first.id);
  });

  it('fills the defaults when only action and requester are sent', async () => {
    const approval = await createApproval(t, key, {
      action: 'infra.change',
      requester: { email: 'CAROL@example.com' },
    });
    expect(approval).toMatchObject({
      status: 'pending',
      title: null,
      reason: null,
      requester: { email: 'carol@example.com', name: null },
      agent: null,
      context: {},
      approvers: [],
      quorum: 1,
      channel: null,
      callbackUrl: null,
      decisions: [],
      decidedAt: null,
    });
    expect(approval.payloadDigest).toBe(digestOf('infra.change', {}));
    expect(Date.parse(approval.expiresAt) - Date.parse(approval.createdAt)).toBe(HOUR_MS);
  });

  it.each([
    ['"30m"', '30m', 30 * 60_000],
    ['"1h"', '1h', HOUR_MS],
    ['"90s"', '90s', 90_000],
    ['"45m"', '45m', 45 * 60_000],
    ['a number of seconds', 900, 900_000],
  ])('accepts expiresIn as %s', async (_label, expiresIn, expectedMs) => {
    const approval = await createApproval(t, key, { expiresIn });
    expect(Date.parse(approval.expiresAt) - Date.parse(approval.createdAt)).toBe(expectedMs);
  });

  it('counts reason and title as typed: CRLF once, refused over the limit with both lengths, kept whole at it', async () => {
    // 1,990 characters and 20 line breaks sent as CRLF: 2,030 UTF-16 units, 2,010 as typed.
    const tooLong = 'x'.repeat(1970) + '\r\ny'.repeat(20);
    const refused = await t.call('POST', '/v1/approvals', {
      key,
      body: { action: 'db.export', requester: { email: 'alice@example.com' }, reason: tooLong },
    });
    const problem = expectProblem(refused, 'VALIDATION_FAILED', ['/reason']);
    expect(problem.errors?.[0]?.message).toBe(
      'the reason is 2,010 characters long (line breaks count once); the limit is 2,000',
    );
    const longTitle = await t.call('POST', '/v1/approvals', {
      key,
      body: { action: 'db.export', requester: { email: 'alice@example.com' }, title: '題'.repeat(301) },
    });
    expect(expectProblem(longTitle, 'VALIDATION_FAILED', ['/title']).errors?.[0]?.message).toBe(
      'the title is 301 characters long (line breaks count once); the limit is 300',
    );
    const atLimit = 'x'.repeat(1960) + '\r\ny'.repeat(20);
    const emoji = '🚀'.repeat(300);
    const created = await createApproval(t, key, { reason: atLimit, title: emoji });
    expect(created.reason).toBe(atLimit);
    expect(created.title).toBe(emoji);
  });

  it('keeps a raised quorum and de-duplicates approvers case-insensitively', async () => {
    const approval = await createApproval(t, key, {
      approvers: ['bob@example.com', 'BOB@example.com', 'dan@example.com'],
      quorum: 2,
    });
    expect(approval.quorum).toBe(2);
    expect([...approval.approvers].sort()).toEqual(['bob@example.com', 'dan@example.com']);
  });
});
