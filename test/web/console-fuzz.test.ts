// Fuzzing the console's forms and pages like the API's edge (test/http/fuzz.test.ts): seeded
// random form posts with hostile text (NUL, lone surrogates, bad % escapes, special keys), too
// many fields, oversize bodies, other charsets and content types, and bodies that do not match
// their Content-Encoding, plus request pages with hostile path segments and filters, all sent by a
// signed-in reviewer. Every answer is a redirect, a page, or a 4xx HTML page with its error code;
// never 5xx; and a refused request leaves every stored row as it was. FUZZ_SEED / FUZZ_RUNS
// reproduce or lengthen a run.
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval, snapshotData } from '../support/api-fixtures.ts';
import { createCookieAgent, csrfTokenOf, type CookieAgent } from '../support/cookie-agent.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261207);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);

const POLICY = `groups:
  reviewers: [bob@example.com, carol@example.com]
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:reviewers]
`;

const HOSTILE_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '%',
  '%E0%A4%A',
  '%FF',
  '%00',
  '\r\n',
  '<script>alert(1)</script>',
  '__proto__',
  'x'.repeat(2001),
  '拒'.repeat(2001),
  '🚀'.repeat(1000),
];
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...HOSTILE_TEXT));
const fieldName = fc.oneof(
  fc.constantFrom('reason', 'confirm', '_csrf', 'email', '__proto__', 'constructor', 'reason[]'),
  fc.string({ maxLength: 10 }),
);

interface FuzzRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

type Encoding = 'identity' | 'gzip' | 'deflate' | 'gzip-lie' | 'br-lie';

function encode(body: Buffer, how: Encoding): { body: Buffer; header?: string } {
  if (how === 'gzip') return { body: gzipSync(body), header: 'gzip' };
  if (how === 'deflate') return { body: deflateSync(body), header: 'deflate' };
  if (how === 'gzip-lie') return { body, header: 'gzip' };
  if (how === 'br-lie') return { body, header: 'br' };
  return { body };
}

function formArbitrary(token: () => string): fc.Arbitrary<string> {
  const fields = fc.array(fc.tuple(fieldName, text), { maxLength: 25 });
  return fc.oneof(
    // Mostly well-formed: the right token, plus fields that may be hostile.
    fields.map((pairs) => new URLSearchParams([['_csrf', token()], ...pairs]).toString()),
    // Raw bodies, percent escapes as written.
    fc
      .tuple(fc.constantFrom('reason', 'confirm', 'email'), text)
      .map(([k, v]) => `_csrf=${token()}&${k}=${v}`),
    fc.string({ maxLength: 60 }),
  );
}

function requestArbitrary(ids: string[], token: () => string): fc.Arbitrary<FuzzRequest> {
  const id = fc.oneof(
    fc.constantFrom(...ids),
    fc.constantFrom('%E0%A4%A', '%FF', 'not-a-uuid', 'x'.repeat(300), '%00'),
  );
  const post = fc
    .tuple(
      fc.oneof(
        id.map((i) => `/requests/${i}/deny`),
        id.map((i) => `/requests/${i}/approve`),
        fc.constantFrom('/auth/dev', '/auth/signout'),
      ),
      formArbitrary(token),
      fc.constantFrom(
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=utf-8',
        'application/x-www-form-urlencoded; charset=utf-7',
        'application/x-www-form-urlencoded; charset=iso-8859-1',
        'application/json',
        'multipart/form-data; boundary=x',
        'text/plain',
      ),
      fc.constantFrom<Encoding>('identity', 'identity', 'identity', 'gzip', 'deflate', 'gzip-lie', 'br-lie'),
      fc.nat({ max: 10 }),
    )
    .map(([path, form, type, how, pad]): FuzzRequest => {
      // Now and then a body past the 32 KiB limit.
      const raw = Buffer.from(pad === 10 ? `${form}&pad=${'p'.repeat(40 * 1024)}` : form, 'utf8');
      const encoded = encode(raw, how);
      return {
        method: 'POST',
        path,
        headers: { 'content-type': type, ...(encoded.header ? { 'content-encoding': encoded.header } : {}) },
        body: encoded.body,
      };
    });
  const get = fc
    .oneof(
      id.map((i) => `/requests/${i}`),
      fc
        .tuple(fc.constantFrom('status', 'action', 'requester', 'rule', 'cursor', 'x'), text)
        .map(([k, v]) => `/requests?${k}=${encodeURIComponent(v.replace(/[\ud800-\udfff]/g, ''))}`),
      fc.constantFrom('/requests?status=%FF', '/requests?cursor=%E0%A4%A', '/?a=%00'),
    )
    .map((path): FuzzRequest => ({ method: 'GET', path, headers: {}, body: undefined }));
  return fc.oneof({ weight: 3, arbitrary: post }, { weight: 1, arbitrary: get });
}

describe(`fuzzing the console's forms (seed ${SEED}, ${RUNS} runs)`, () => {
  let t: TestServer;
  let agent: CookieAgent;
  let token = '';
  const ids: string[] = [];

  beforeAll(async () => {
    t = await startTestServer({
      policyYaml: POLICY,
      env: {
        COUNTERSIGN_DEV_SIGNIN: 'true',
        COUNTERSIGN_SIGNIN_RATE_LIMIT: '100000',
        COUNTERSIGN_CALLBACK_WORKERS: '0',
      },
    });
    const key = (await t.createKey()).key;
    for (let i = 0; i < 5; i++) ids.push((await createApproval(t, key, { title: `Fuzz target ${i}` })).id);
    agent = createCookieAgent();
    const signin = await agent.request('GET', `${t.url}/signin`);
    await agent.request('POST', `${t.url}/auth/dev`, {
      email: 'carol@example.com',
      _csrf: csrfTokenOf(signin.text),
    });
    token = csrfTokenOf((await agent.request('GET', `${t.url}/requests/${ids[0] ?? ''}`)).text);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a redirect, a page or a 4xx page, never 5xx; refusals change nothing', async () => {
    const statuses = new Map<number, number>();
    let before = await snapshotData(t);
    await fc.assert(
      fc.asyncProperty(
        requestArbitrary(ids, () => token),
        async (request) => {
          const session = agent.cookie('127.0.0.1', 'countersign_session') ?? '';
          const response = await fetch(`${t.url}${request.path}`, {
            method: request.method,
            redirect: 'manual',
            headers: { ...request.headers, cookie: `countersign_session=${session}` },
            ...(request.body ? { body: request.body } : {}),
          });
          const body = await response.text();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const what = `${response.status} for ${request.method} ${request.path} ${JSON.stringify(request.headers)} ${
            request.body ? Buffer.from(request.body).toString('latin1').slice(0, 200) : ''
          }: ${body.slice(0, 300)}`;
          expect(response.status < 500, what).toBe(true);
          const after = await snapshotData(t);
          if (response.status >= 400) {
            expect(response.headers.get('content-type'), what).toMatch(/^text\/html/);
            expect(body, what).toMatch(/data-code="[A-Z_]+"/);
            expect(after, `stored data changed by a refused request: ${what}`).toEqual(before);
          }
          before = after;
          // A sign-out or a sign-in as someone else ends carol's session: sign her in again.
          if (request.path.startsWith('/auth/')) {
            const signin = await agent.request('GET', `${t.url}/signin`);
            if (signin.status === 200) {
              await agent.request('POST', `${t.url}/auth/dev`, {
                email: 'carol@example.com',
                _csrf: csrfTokenOf(signin.text),
              });
            }
            token = csrfTokenOf((await agent.request('GET', `${t.url}/requests/${ids[0] ?? ''}`)).text);
            before = await snapshotData(t);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const seen = JSON.stringify([...statuses]);
    for (const status of [303, 400, 413, 415, 422]) expect(statuses.get(status), seen).toBeGreaterThan(0);
  }, 300_000);
});
