// Every error the REST API can produce: problem+json with status, code, request id and pointers,
// and none of them changes stored data (spec §2, §3.11).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../apps/server/src/errors.ts';
import { revokeApiKey } from '../../apps/server/src/keys/revoke-api-key.ts';
import {
  createApproval,
  expectProblem,
  snapshotData,
  specExampleBody,
  type Approval,
} from '../support/api-fixtures.ts';
import type { ApiResponse, CallOptions, TestServer } from '../support/test-server.ts';
import { startTestServer } from '../support/test-server.ts';

const UNKNOWN_ID = '7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10';
const minimal = { action: 'db.export', requester: { email: 'alice@example.com' } };
const json = { 'content-type': 'application/json' };

interface Keys {
  write: string;
  readOnly: string;
  auditOnly: string;
  pendingId: string;
  approvedId: string;
}

interface ErrorCase {
  name: string;
  code: ErrorCode;
  pointers?: string[];
  send(t: TestServer, keys: Keys): Promise<ApiResponse<unknown>>;
}

const post = (t: TestServer, options: CallOptions) => t.call('POST', '/v1/approvals', options);
const errorCase = (
  name: string,
  code: ErrorCode,
  send: ErrorCase['send'],
  pointers?: string[],
): ErrorCase => ({
  name,
  code,
  send,
  ...(pointers ? { pointers } : {}),
});

const CASES: ErrorCase[] = [
  errorCase('malformed JSON', 'MALFORMED_JSON', (t, k) =>
    post(t, { key: k.write, rawBody: '{"action": "db.export",', headers: json }),
  ),
  errorCase('JSON followed by garbage', 'MALFORMED_JSON', (t, k) =>
    post(t, { key: k.write, rawBody: '{"action": "db.export"} trailing', headers: json }),
  ),
  errorCase(
    'a wrong type',
    'VALIDATION_FAILED',
    (t, k) => post(t, { key: k.write, body: { ...minimal, quorum: 'two' } }),
    ['/quorum'],
  ),
  errorCase(
    'a nested wrong value',
    'VALIDATION_FAILED',
    (t, k) => post(t, { key: k.write, body: { ...minimal, requester: { email: 'not-an-email' } } }),
    ['/requester/email'],
  ),
  errorCase(
    'an unknown top-level field',
    'VALIDATION_FAILED',
    (t, k) => post(t, { key: k.write, body: { ...minimal, bogus: 1 } }),
    ['/bogus'],
  ),
  errorCase(
    'an unknown nested field',
    'VALIDATION_FAILED',
    (t, k) =>
      post(t, { key: k.write, body: { ...minimal, requester: { email: 'a@example.com', bogus: 1 } } }),
    ['/requester/bogus'],
  ),
  errorCase(
    'a missing required field',
    'VALIDATION_FAILED',
    (t, k) => post(t, { key: k.write, body: { requester: { email: 'a@example.com' } } }),
    ['/action'],
  ),
  errorCase(
    'a JSON array instead of an object',
    'VALIDATION_FAILED',
    (t, k) => post(t, { key: k.write, body: [minimal] }),
    ['/'],
  ),
  errorCase('no body at all', 'VALIDATION_FAILED', (t, k) => post(t, { key: k.write, headers: json }), ['/']),
  errorCase(
    'an invalid Idempotency-Key header',
    'VALIDATION_FAILED',
    (t, k) => post(t, { key: k.write, body: minimal, headers: { 'idempotency-key': 'x'.repeat(256) } }),
    ['/idempotency-key'],
  ),
  errorCase('a body over 64 KiB', 'PAYLOAD_TOO_LARGE', (t, k) =>
    post(t, { key: k.write, body: { ...minimal, context: { blob: 'x'.repeat(70 * 1024) } } }),
  ),
  errorCase(
    'a context over 32 KiB in a body under 64 KiB',
    'PAYLOAD_TOO_LARGE',
    (t, k) => post(t, { key: k.write, body: { ...minimal, context: { blob: 'x'.repeat(40 * 1024) } } }),
    ['/context'],
  ),
  errorCase('a text/plain body', 'UNSUPPORTED_MEDIA_TYPE', (t, k) =>
    post(t, { key: k.write, rawBody: JSON.stringify(minimal), headers: { 'content-type': 'text/plain' } }),
  ),
  errorCase('a JSON body in an unsupported charset', 'UNSUPPORTED_MEDIA_TYPE', (t, k) =>
    post(t, {
      key: k.write,
      rawBody: JSON.stringify(minimal),
      headers: { 'content-type': 'application/json; charset=latin1' },
    }),
  ),
  errorCase('no Authorization header', 'API_KEY_MISSING', (t) => post(t, { body: minimal })),
  errorCase('no Authorization header and a malformed body (auth comes first)', 'API_KEY_MISSING', (t) =>
    post(t, { rawBody: '{', headers: json }),
  ),
  errorCase('an unknown key', 'API_KEY_INVALID', (t) =>
    post(t, { key: 'cs_thisKeyDoesNotExist', body: minimal }),
  ),
  errorCase('a non-Bearer Authorization header', 'API_KEY_INVALID', (t) =>
    post(t, { body: minimal, headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
  ),
  errorCase('a key without approvals:write creating', 'INSUFFICIENT_SCOPE', (t, k) =>
    post(t, { key: k.readOnly, body: minimal }),
  ),
  errorCase('a key without approvals:write cancelling', 'INSUFFICIENT_SCOPE', (t, k) =>
    t.call('POST', `/v1/approvals/${k.pendingId}/cancel`, { key: k.readOnly }),
  ),
  errorCase('a key without approvals:read listing', 'INSUFFICIENT_SCOPE', (t, k) =>
    t.call('GET', '/v1/approvals', { key: k.auditOnly }),
  ),
  errorCase('a key without approvals:read reading', 'INSUFFICIENT_SCOPE', (t, k) =>
    t.call('GET', `/v1/approvals/${k.pendingId}`, { key: k.auditOnly }),
  ),
  errorCase('an unknown id', 'NOT_FOUND', (t, k) =>
    t.call('GET', `/v1/approvals/${UNKNOWN_ID}`, { key: k.write }),
  ),
  errorCase('a non-UUID id', 'NOT_FOUND', (t, k) =>
    t.call('GET', '/v1/approvals/not-a-uuid', { key: k.write }),
  ),
  errorCase('cancelling an unknown id', 'NOT_FOUND', (t, k) =>
    t.call('POST', `/v1/approvals/${UNKNOWN_ID}/cancel`, { key: k.write }),
  ),
  errorCase('an unknown route', 'ROUTE_NOT_FOUND', (t) => t.call('GET', '/v1/nothing-here')),
  errorCase('an unknown method', 'ROUTE_NOT_FOUND', (t) => t.call('DELETE', '/v1/approvals')),
  errorCase('an Idempotency-Key reused with another body', 'IDEMPOTENCY_CONFLICT', (t, k) =>
    post(t, { key: k.write, body: { ...minimal, reason: 'other' }, headers: { 'idempotency-key': 'used' } }),
  ),
  errorCase('cancelling an approved request', 'ALREADY_DECIDED', (t, k) =>
    t.call('POST', `/v1/approvals/${k.approvedId}/cancel`, { key: k.write }),
  ),
  errorCase(
    'an invalid cursor',
    'INVALID_CURSOR',
    (t, k) => t.call('GET', '/v1/approvals?cursor=bm90LWEtY3Vyc29y', { key: k.write }),
    ['/cursor'],
  ),
  errorCase('a path id whose % escapes do not decode', 'MALFORMED_REQUEST', (t, k) =>
    t.call('GET', '/v1/approvals/%E0%A4%A', { key: k.write }),
  ),
  errorCase('a body that does not match its Content-Encoding', 'CONTENT_ENCODING_INVALID', (t, k) =>
    post(t, {
      key: k.write,
      rawBody: JSON.stringify(minimal),
      headers: { ...json, 'content-encoding': 'gzip' },
    }),
  ),
  errorCase('headers larger than Node accepts', 'HEADERS_TOO_LARGE', (t, k) =>
    t.call('GET', '/v1/approvals', { key: k.write, headers: { 'x-big': 'a'.repeat(20_000) } }),
  ),
];

/** The codes a client can cause through /v1; NOT_READY is in observability.test.ts. */
const CLIENT_CAUSED: ErrorCode[] = [
  'MALFORMED_JSON',
  'VALIDATION_FAILED',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'API_KEY_MISSING',
  'API_KEY_INVALID',
  'API_KEY_REVOKED',
  'INSUFFICIENT_SCOPE',
  'NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'IDEMPOTENCY_CONFLICT',
  'ALREADY_DECIDED',
  'INVALID_CURSOR',
  'MALFORMED_REQUEST',
  'CONTENT_ENCODING_INVALID',
  'HEADERS_TOO_LARGE',
];

describe('REST errors', () => {
  let t: TestServer;
  let keys: Keys;
  beforeAll(async () => {
    t = await startTestServer();
    const write = (await t.createKey('writer')).key;
    const pending = await createApproval(t, write, { ...minimal, reason: 'first' });
    await createApproval(t, write, minimal, { headers: { 'idempotency-key': 'used' } });
    const approved = await createApproval(t, write);
    await t.server.db.prisma.approvalRequest.update({
      where: { id: approved.id },
      data: { status: 'approved', decidedAt: new Date() },
    });
    keys = {
      write,
      readOnly: (await t.createKey('reader', ['approvals:read'])).key,
      auditOnly: (await t.createKey('auditor', ['audit:read'])).key,
      pendingId: pending.id,
      approvedId: approved.id,
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, errorCase) => {
    const before = await snapshotData(t);
    const response = await errorCase.send(t, keys);
    expectProblem(response, errorCase.code, errorCase.pointers);
    expect(await snapshotData(t)).toEqual(before);
  });

  it('has a case for every code a client can cause', () => {
    const covered = new Set<ErrorCode>([...CASES.map((c) => c.code), 'API_KEY_REVOKED']);
    expect(CLIENT_CAUSED.filter((code) => !covered.has(code))).toEqual([]);
  });

  it('refuses a revoked key on the very next request, and nothing changes', async () => {
    const revoked = await t.createKey('soon-revoked');
    expect((await t.call('GET', '/v1/approvals', { key: revoked.key })).status).toBe(200);
    await revokeApiKey(t.server.db, revoked.id);
    const before = await snapshotData(t);
    expectProblem(await post(t, { key: revoked.key, body: minimal }), 'API_KEY_REVOKED');
    expectProblem(await t.call('GET', '/v1/approvals', { key: revoked.key }), 'API_KEY_REVOKED');
    expect(await snapshotData(t)).toEqual(before);
  });

  it('lets an admin key do what approvals:write and approvals:read allow', async () => {
    const { key } = await t.createKey('admin', ['admin']);
    const { callbackUrl: _noDelivery, ...body } = specExampleBody();
    const created = await createApproval(t, key, body);
    expect((await t.call<Approval>('GET', `/v1/approvals/${created.id}`, { key })).status).toBe(200);
    expect((await t.call<Approval>('POST', `/v1/approvals/${created.id}/cancel`, { key })).status).toBe(200);
  });

  it('keeps every earlier request intact after all the refused input', async () => {
    const read = await t.call<Approval>('GET', `/v1/approvals/${keys.pendingId}`, { key: keys.write });
    expect(read.body).toMatchObject({ status: 'pending', reason: 'first' });
  });
});
