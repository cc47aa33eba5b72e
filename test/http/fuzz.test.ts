// Fuzzing the HTTP edge (issue 12): seeded random and hostile requests — methods, raw paths with
// % escapes and control bytes, headers, query strings, JSON bodies with hostile text, special
// keys and deep nesting, bodies that do not match their Content-Encoding or are not JSON at all —
// are written byte for byte to the in-process server. Every answer must be 2xx, or 4xx as
// problem+json; never 5xx, never a hang; and a refused request must leave every stored row and
// the audit chain exactly as they were. FUZZ_SEED and FUZZ_RUNS reproduce or lengthen a run.
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval, type Approval } from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 3000);
/** Longer than any answer should take; a request still open then is a hang. */
const ANSWER_WITHIN_MS = 10_000;

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer | undefined;
}

/** Writes the request as given (Content-Length computed, Connection: close) and reads the answer. */
function send(port: number, request: FuzzRequest): Promise<RawResponse> {
  const head = [
    `${request.method} ${request.path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...request.headers.map(([name, value]) => `${name}: ${value}`),
    ...(request.body ? [`Content-Length: ${request.body.length}`] : []),
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`));
    }, ANSWER_WITHIN_MS);
    socket.on('connect', () => {
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), request.body ?? Buffer.alloc(0)]));
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer is fine; judged on close
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

function parseResponse(raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP response: ${JSON.stringify(raw.toString('latin1'))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  if (headers.get('transfer-encoding')?.includes('chunked')) body = dechunk(body);
  return { status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!size) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

// --- what the generators draw from

const HOSTILE_TEXT = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\udc00y',
  '\ud83d\ude80', // a proper pair: fine
  '__proto__',
  'constructor',
  'toString',
  '%00',
  '%',
  '%E0%A4%A',
  '../../etc/passwd',
  '\r\nX-Injected: 1',
  "'; DROP TABLE approval_requests; --",
  '\u202e',
  '\uffff',
  '\ufeff',
  'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8',
  'x'.repeat(300),
];
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({
    unit: fc.constantFrom('\u0000', '\ud800', '\udc00', 'a', '/', '~', '%', '"', '\\'),
    maxLength: 12,
  }),
  fc.constantFrom(...HOSTILE_TEXT),
);
const specialKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty');
const key = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: specialKey },
  {
    weight: 1,
    arbitrary: text,
  },
);

/** A JSON text: random JSON, JSON with hostile keys and strings, or one nested many levels deep. */
const jsonLike: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc
    .dictionary(key, fc.oneof(text, fc.integer(), fc.constant(null), fc.array(text, { maxLength: 3 })), {
      maxKeys: 5,
    })
    .map((o) => JSON.stringify(o)),
  // JSON.stringify drops nothing here, but cannot write an own __proto__ key: spliced in as text.
  fc.tuple(specialKey, fc.json({ maxDepth: 2 })).map(([k, v]) => `{"context":{${JSON.stringify(k)}:${v}}}`),
  fc.integer({ min: 1, max: 3000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 60, max: 3000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
);

/** Mostly `valid`, sometimes hostile: so that requests get past one check and reach the next. */
function mostly<T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: hostile });
}

const plain = fc.string({ minLength: 1, maxLength: 30 });

/** A create body that is often valid, with fields drawn from hostile text now and then. */
const createBody = fc
  .record(
    {
      action: mostly(fc.constantFrom('db.export', 'deploy.prod', 'x'), text),
      title: mostly(plain, text),
      reason: mostly(plain, text),
      requester: mostly(
        fc.record(
          { email: fc.constant('alice@example.com'), name: mostly(plain, text) },
          { requiredKeys: ['email'] },
        ),
        fc.record({ email: fc.oneof(fc.emailAddress(), text), bogus: text }, { requiredKeys: [] }),
      ),
      agent: fc.record(
        {
          name: mostly(fc.oneof(plain, specialKey), text),
          model: mostly(plain, text),
          runId: mostly(plain, text),
        },
        { requiredKeys: ['name'] },
      ),
      context: fc.dictionary(
        mostly(fc.string({ maxLength: 12 }), key).map(String),
        mostly(
          fc.oneof(plain, fc.integer()),
          fc.oneof(
            text,
            fc.json({ maxDepth: 2 }).map((j): unknown => JSON.parse(j)),
          ),
        ),
        { maxKeys: 4 },
      ),
      sensitive: mostly(
        fc.array(fc.constantFrom('/a', '', '/', '/__proto__'), { maxLength: 3 }),
        fc.array(text),
      ),
      approvers: mostly(
        fc.constant(['bob@example.com', 'carol@example.com']),
        fc.array(text, { maxLength: 3 }),
      ),
      quorum: mostly(
        fc.integer({ min: 1, max: 2 }),
        fc.oneof(fc.integer({ min: -2, max: 200 }), fc.constant('2')),
      ),
      expiresIn: mostly(
        fc.constantFrom(600, '1h', '30m'),
        fc.oneof(fc.integer({ min: -5, max: 40 * 86_400 }), fc.constantFrom('0', '-1s', 'soon')),
      ),
      channel: mostly(fc.constant('slack:C0FUZZ'), text),
      // IP literals only: no DNS look-ups, and no callback workers run, so nothing is ever sent.
      callbackUrl: mostly(
        fc.constant('http://93.184.216.34/hook?token=abc'),
        fc.constantFrom('http://127.0.0.1/x', 'http://[::127.0.0.1]/x', 'ftp://93.184.216.34/x', 'not a url'),
      ),
    },
    { requiredKeys: ['action', 'requester'] },
  )
  .map((body) => JSON.stringify(body));

type Encoding = 'none' | 'gzip' | 'deflate' | 'br' | 'mismatch' | 'unknown';
const encoding = fc.constantFrom<Encoding>(
  'none',
  'none',
  'none',
  'none',
  'gzip',
  'deflate',
  'br',
  'mismatch',
  'unknown',
);

function encode(body: Buffer, how: Encoding): { body: Buffer; header?: string } {
  switch (how) {
    case 'none':
      return { body };
    case 'gzip':
      return { body: gzipSync(body), header: 'gzip' };
    case 'deflate':
      return { body: deflateSync(body), header: 'deflate' };
    case 'br':
      return { body: brotliCompressSync(body), header: 'br' };
    case 'mismatch':
      return { body, header: 'gzip' };
    case 'unknown':
      return { body, header: 'compress' };
  }
}

const body = fc.oneof(
  { weight: 4, arbitrary: createBody.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 3, arbitrary: jsonLike.map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: createBody.map((s) => Buffer.from(s.slice(0, Math.floor(s.length / 2)), 'utf8')) },
  { weight: 1, arbitrary: fc.constant(Buffer.from(JSON.stringify({ reason: 'x'.repeat(70 * 1024) }))) },
);

/** Path characters as they go on the wire: printable, escapes good and bad, and a few raw bytes. */
const segment = fc.oneof(
  fc.string({ maxLength: 10 }).map((s) => encodeURIComponent(s)),
  fc.constantFrom('%ZZ', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%00', '%25', '%2F', '..', '.', '', '%u0041'),
  fc.string({
    unit: fc.constantFrom('a', '%', '\u0001', '\u007f', '"', '<', '\\', '^', '`', '{'),
    maxLength: 6,
  }),
);
const query = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('status', 'action', 'requester', 'cursor', 'limit', '__proto__', 'constructor'),
        segment,
      ),
      fc.oneof(segment, fc.constantFrom('pending', '1', '0', '-1', '101', '1e9', 'bm90LWEtY3Vyc29y', '%00')),
    ),
    { maxLength: 3 },
  )
  .map((pairs) => (pairs.length === 0 ? '' : '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&')));

interface Fixtures {
  writeKey: string;
  readKey: string;
  pendingId: string;
}

function pathArbitrary(f: Fixtures): fc.Arbitrary<string> {
  const id = fc.oneof(
    fc.constant(f.pendingId),
    fc.constant('7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10'),
    fc.uuid(),
    segment,
  );
  return fc.oneof(
    fc.tuple(fc.constant('/v1/approvals'), query).map(([p, q]) => p + q),
    fc.tuple(id, query).map(([i, q]) => `/v1/approvals/${i}${q.replace(/wait=[^&]*/g, 'wait=0')}`),
    fc.tuple(id).map(([i]) => `/v1/approvals/${i}/cancel`),
    fc.tuple(id).map(([i]) => `/v1/approvals/${i}/deliveries`),
    fc.tuple(id, fc.uuid()).map(([i, d]) => `/v1/approvals/${i}/deliveries/${d}/retry`),
    fc.constantFrom(
      '/v1/audit/verify',
      '/healthz',
      '/readyz',
      '/openapi.json',
      '/v1/keys/receipt',
      '/slack/events',
    ),
    fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => '/' + parts.join('/')),
    fc.constantFrom('*', 'http://127.0.0.1/v1/approvals', '/v1/approvals#frag', '//v1//approvals'),
  );
}

function anyRequest(f: Fixtures): fc.Arbitrary<FuzzRequest> {
  const headerValue = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: fc.constantFrom('a', '\u0001', '\u007f', '\u00e9', ' ', '\t'), maxLength: 8 }),
    fc.constantFrom('', ' ', 'x'.repeat(300)),
  );
  return fc
    .record({
      method: fc.constantFrom(
        'GET',
        'GET',
        'POST',
        'POST',
        'POST',
        'PUT',
        'DELETE',
        'PATCH',
        'HEAD',
        'OPTIONS',
      ),
      path: pathArbitrary(f),
      auth: fc.constantFrom('write', 'write', 'write', 'read', 'none', 'garbage', 'basic'),
      contentType: fc.constantFrom(
        'application/json',
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/json, text/plain',
        undefined,
      ),
      encoding,
      body: fc.option(body, { freq: 4 }),
      idempotencyKey: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.constant('x'.repeat(256))), {
        freq: 3,
      }),
      extra: fc.array(
        fc.tuple(fc.constantFrom('X-Request-Id', 'X-Fuzz', 'Accept', 'X-Slack-Signature'), headerValue),
        {
          maxLength: 2,
        },
      ),
    })
    .map((r): FuzzRequest => {
      const headers: [string, string][] = [];
      const auth = {
        write: `Bearer ${f.writeKey}`,
        read: `Bearer ${f.readKey}`,
        none: undefined,
        garbage: 'Bearer cs_notAKey',
        basic: 'Basic dXNlcjpwYXNz',
      }[r.auth];
      if (auth) headers.push(['Authorization', auth]);
      if (r.contentType) headers.push(['Content-Type', r.contentType]);
      if (r.idempotencyKey !== null) headers.push(['Idempotency-Key', r.idempotencyKey]);
      headers.push(...r.extra);
      let payload: Buffer | undefined;
      if (r.body !== null) {
        const encoded = encode(r.body, r.encoding);
        payload = encoded.body;
        if (encoded.header) headers.push(['Content-Encoding', encoded.header]);
      }
      return { method: r.method, path: r.path, headers, body: payload };
    });
}

/** Well-formed but for one part now and then: creates, cancels, reads; plus anything at all. */
function requestArbitrary(f: Fixtures): fc.Arbitrary<FuzzRequest> {
  const auth = mostly(
    fc.constant(`Bearer ${f.writeKey}`),
    fc.constantFrom(`Bearer ${f.readKey}`, 'Bearer cs_x'),
  );
  const json = mostly(
    fc.constant('application/json'),
    fc.constantFrom('text/plain', 'application/json; charset=latin1'),
  );
  const authHeaders = fc.tuple(auth, json).map(([a, c]): [string, string][] => [
    ['Authorization', String(a)],
    ['Content-Type', String(c)],
  ]);
  const withBody = (path: fc.Arbitrary<string>, payload: fc.Arbitrary<Buffer>) =>
    fc
      .record({
        path,
        headers: authHeaders,
        payload,
        encoding: fc.oneof({ weight: 12, arbitrary: fc.constant<Encoding>('none') }, encoding),
        idempotencyKey: fc.option(
          fc.constantFrom('fuzz-1', 'fuzz-2', 'fuzz-3', 'fuzz-4', 'x'.repeat(256), ''),
          { freq: 4 },
        ),
      })
      .map(({ path: p, headers, payload: b, encoding: how, idempotencyKey }): FuzzRequest => {
        const encoded = encode(b, how);
        return {
          method: 'POST',
          path: p,
          headers: [
            ...headers,
            ...(encoded.header ? ([['Content-Encoding', encoded.header]] as [string, string][]) : []),
            ...(idempotencyKey !== null ? ([['Idempotency-Key', idempotencyKey]] as [string, string][]) : []),
          ],
          body: encoded.body,
        };
      });
  const id = fc.oneof(fc.constant(f.pendingId), fc.uuid(), segment);
  const create = withBody(
    fc.constant('/v1/approvals'),
    fc.oneof({ weight: 6, arbitrary: createBody.map((b) => Buffer.from(b, 'utf8')) }, body),
  );
  const cancel = withBody(
    id.map((i) => `/v1/approvals/${i}/cancel`),
    fc.oneof(
      fc.record({ reason: text }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o))),
      jsonLike.map((j) => Buffer.from(j)),
    ),
  );
  const read = fc
    .tuple(
      fc.oneof(
        fc.constant('/v1/approvals'),
        id.map((i) => `/v1/approvals/${i}`),
      ),
      query,
      authHeaders,
    )
    .map(([p, q, headers]): FuzzRequest => ({ method: 'GET', path: p + q, headers, body: undefined }));
  return fc.oneof(
    { weight: 5, arbitrary: create },
    { weight: 1, arbitrary: cancel },
    { weight: 2, arbitrary: read },
    { weight: 2, arbitrary: anyRequest(f) },
  );
}

// --- what must hold

interface Stored {
  counts: string;
  requestsDigest: string;
  auditHead: string;
}

async function stored(client: pg.Client): Promise<Stored> {
  const { rows } = await client.query<Stored>(`
    SELECT concat_ws(',', (SELECT count(*) FROM approval_requests), (SELECT count(*) FROM decisions),
                          (SELECT count(*) FROM audit_events), (SELECT count(*) FROM callback_deliveries),
                          (SELECT count(*) FROM clients), (SELECT count(*) FROM chat_cards)) AS counts,
           (SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM approval_requests r)
             AS "requestsDigest",
           (SELECT coalesce(max(seq)::text || ':' || (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1), '0')
              FROM audit_events) AS "auditHead"`);
  const [row] = rows;
  if (!row) throw new Error('no snapshot row');
  return row;
}

function describeRequest(request: FuzzRequest): string {
  return JSON.stringify({ ...request, body: request.body?.toString('latin1').slice(0, 300) });
}

describe(`fuzzing the HTTP edge (seed ${SEED}, ${RUNS} runs)`, () => {
  let t: TestServer;
  let db: pg.Client;
  let fixtures: Fixtures;
  beforeAll(async () => {
    t = await startTestServer({
      env: { COUNTERSIGN_CALLBACK_WORKERS: '0', COUNTERSIGN_EXPIRY_SWEEP_MS: String(3_600_000) },
    });
    const writeKey = (await t.createKey('fuzz-writer')).key;
    const readKey = (await t.createKey('fuzz-reader', ['approvals:read'])).key;
    const pending: Approval = await createApproval(t, writeKey, { reason: 'the fuzzer may cancel this' });
    fixtures = { writeKey, readKey, pendingId: pending.id };
    db = new pg.Client({ connectionString: t.database.url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.close();
  });

  it('answers 2xx or 4xx problem+json, never 5xx or a hang; refusals change nothing', async () => {
    const port = t.server.port;
    const statuses = new Map<number, number>();
    let before = await stored(db);
    await fc.assert(
      fc.asyncProperty(requestArbitrary(fixtures), async (request) => {
        const response = await send(port, request);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const what = `${response.status} for ${describeRequest(request)}: ${response.body.slice(0, 300)}`;
        expect(response.status >= 200 && response.status < 500, what).toBe(true);
        expect(response.status < 300 || response.status >= 400, what).toBe(true);
        const after = await stored(db);
        if (response.status >= 400) {
          expect(response.headers.get('content-type'), what).toMatch(/^application\/problem\+json\b/);
          if (request.method !== 'HEAD') {
            const problem = JSON.parse(response.body) as { status: number; code: string; requestId: string };
            expect(problem.status, what).toBe(response.status);
            expect(problem.code, what).toMatch(/^[A-Z_]+$/);
            expect(problem.requestId, what).toBe(response.headers.get('x-request-id'));
          }
          expect(after, `stored data changed by a refused request: ${what}`).toEqual(before);
        }
        before = after;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // The mix is meant to reach deep: refusals of every kind, and requests that get all the way through.
    const seen = JSON.stringify([...statuses]);
    for (const status of [400, 401, 403, 404, 409, 413, 415, 422]) {
      expect(statuses.get(status), seen).toBeGreaterThan(0);
    }
    expect(statuses.get(201) ?? 0, seen).toBeGreaterThanOrEqual(RUNS / 100);

    const verify = await t.call('GET', '/v1/audit/verify', {
      key: (await t.createKey(`fuzz-auditor-${randomUUID()}`, ['audit:read'])).key,
    });
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ intact: true });
    // 2,000 cases use about 16 s of CPU; on the shared 2-core machine (load ~25) they took 67 s alone
    // and 160 s inside the full suite, hence the generous limit.
  }, 300_000);
});
