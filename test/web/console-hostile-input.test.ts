// The console's bad input gets a precise 4xx page, never a 500, and changes nothing: path escapes
// that do not decode, too many fields, oversize bodies, charsets other than UTF-8, bodies that do
// not match their Content-Encoding, NUL, and % escapes that are not UTF-8. A reason at its limit
// in CJK (about 18 KB on the wire) still goes through.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../apps/server/src/errors.ts';
import { createApproval, snapshotData, withPgClient } from '../support/api-fixtures.ts';
import { createCookieAgent, csrfTokenOf, type CookieAgent } from '../support/cookie-agent.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `groups:
  reviewers: [bob@example.com, carol@example.com]
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:reviewers]
`;

let t: TestServer;
let key: string;
let carol: CookieAgent;
let token: string;
let pendingId: string;

beforeAll(async () => {
  t = await startTestServer({
    policyYaml: POLICY,
    env: {
      COUNTERSIGN_DEV_SIGNIN: 'true',
      COUNTERSIGN_SIGNIN_RATE_LIMIT: '100',
    },
  });
  key = (await t.createKey()).key;
  carol = createCookieAgent();
  const signin = await carol.request('GET', `${t.url}/signin`);
  const done = await carol.request('POST', `${t.url}/auth/dev`, {
    email: 'carol@example.com',
    _csrf: csrfTokenOf(signin.text),
  });
  expect(done.status).toBe(303);
  pendingId = (await createApproval(t, key, { title: 'Export the ledger' })).id;
  token = csrfTokenOf((await carol.request('GET', `${t.url}/requests/${pendingId}`)).text);
});

afterAll(async () => {
  await t?.close();
});

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** Posts raw bytes to a console path with carol's session. */
async function post(
  path: string,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${t.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      cookie: `countersign_session=${carol.cookie('127.0.0.1', 'countersign_session') ?? ''}`,
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    },
    body,
  });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

const form = (fields: Record<string, string>) => new URLSearchParams({ _csrf: token, ...fields }).toString();

async function expectRefusedPage(send: () => Promise<Answer>, status: number, code: ErrorCode, says: RegExp) {
  const before = await snapshotData(t);
  const answer = await send();
  expect(answer.status, answer.text.slice(0, 2000)).toBe(status);
  expect(answer.type).toMatch(/^text\/html/);
  expect(answer.text).toContain(`data-code="${code}"`);
  expect(answer.text).toMatch(says);
  expect(await snapshotData(t)).toEqual(before);
}

describe('console bad input', () => {
  it('answers a path whose % escapes do not decode with a 400 page', async () => {
    const page = await carol.request('GET', `${t.url}/requests/%E0%A4%A`);
    expect(page.status).toBe(400);
    expect(page.text).toContain('data-code="MALFORMED_REQUEST"');
    expect(page.text).toContain('not valid percent-encoded UTF-8');
  });

  it('refuses a form with more than 20 fields', async () => {
    const fields = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`f${i}`, 'x']));
    await expectRefusedPage(
      () => post(`/requests/${pendingId}/deny`, form({ reason: 'no', ...fields })),
      413,
      'PAYLOAD_TOO_LARGE',
      /more than 20 fields/,
    );
  });

  it('refuses a body over 32 KiB, and accepts a 2,000-character CJK reason (about 18 KB)', async () => {
    await expectRefusedPage(
      () => post(`/requests/${pendingId}/deny`, form({ reason: 'x'.repeat(33 * 1024) })),
      413,
      'PAYLOAD_TOO_LARGE',
      /larger than 32 KiB/,
    );
    const request = await createApproval(t, key, { title: 'Export the journal' });
    const reason = '拒否理由'.repeat(500);
    const body = form({ reason });
    expect(body.length).toBeGreaterThan(18_000);
    const answer = await post(`/requests/${request.id}/deny`, body);
    expect(answer.status).toBe(303);
    const stored = await withPgClient(t.database.url, async (client) =>
      (
        await client.query<{ reason: string }>('SELECT reason FROM decisions WHERE request_id = $1', [
          request.id,
        ])
      ).rows.map((r) => r.reason),
    );
    expect(stored).toEqual([reason]);
  });

  it('refuses a charset other than UTF-8, and a body that is not a form', async () => {
    await expectRefusedPage(
      () =>
        post(`/requests/${pendingId}/deny`, form({ reason: 'no' }), {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-7',
        }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /UTF-8, not utf-7/,
    );
    await expectRefusedPage(
      () =>
        post(`/requests/${pendingId}/deny`, JSON.stringify({ reason: 'no', _csrf: token }), {
          'content-type': 'application/json',
        }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /x-www-form-urlencoded/,
    );
  });

  it('refuses a body that does not match its Content-Encoding', async () => {
    await expectRefusedPage(
      () => post(`/requests/${pendingId}/deny`, form({ reason: 'no' }), { 'content-encoding': 'gzip' }),
      400,
      'CONTENT_ENCODING_INVALID',
      /does not decode as Content-Encoding gzip/,
    );
    // The same form really gzipped is read.
    const request = await createApproval(t, key);
    const zipped = await post(`/requests/${request.id}/deny`, gzipSync(form({ reason: 'zipped' })), {
      'content-encoding': 'gzip',
    });
    expect(zipped.status).toBe(303);
  });

  it('refuses NUL in a field, and % escapes that are not UTF-8', async () => {
    await expectRefusedPage(
      () => post(`/requests/${pendingId}/deny`, `_csrf=${token}&reason=a%00b`),
      422,
      'VALIDATION_FAILED',
      /\/reason contains a NUL character/,
    );
    await expectRefusedPage(
      () => post(`/requests/${pendingId}/deny`, `_csrf=${token}&reason=caf%E9`),
      400,
      'MALFORMED_REQUEST',
      /not valid percent-encoded UTF-8/,
    );
  });

  it('refuses a deny form whose reason comes twice instead of storing none', async () => {
    const before = await snapshotData(t);
    const answer = await post(`/requests/${pendingId}/deny`, `_csrf=${token}&reason=one&reason=two`);
    expect(answer.status).toBe(303);
    expect(await snapshotData(t)).toEqual(before);
    const page = await carol.request('GET', `${t.url}/requests/${pendingId}`);
    expect(page.text).toContain('Not recorded: send the deny form with one reason field.');
  });
});
