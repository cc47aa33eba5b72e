// Hostile input gets a precise 4xx problem+json and changes nothing (issue 12): text that cannot be
// stored as sent, keys JavaScript treats specially, nesting past the limit, % escapes that do not
// decode, bodies that do not match their Content-Encoding, and what Node's own parser refuses.
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../apps/server/src/errors.ts';
import { MAX_JSON_DEPTH } from '../../apps/server/src/http/refuse-hostile-input.ts';
import { createApproval, expectProblem, snapshotData, type Approval } from '../support/api-fixtures.ts';
import type { ApiResponse, TestServer } from '../support/test-server.ts';
import { startTestServer } from '../support/test-server.ts';

const minimal = { action: 'db.export', requester: { email: 'alice@example.com' } };
const NUL = '\u0000';
const LONE = '\ud800';
const json = { 'content-type': 'application/json' };

let t: TestServer;
let key: string;
let pendingId: string;

beforeAll(async () => {
  t = await startTestServer();
  key = (await t.createKey('hostile')).key;
  pendingId = (await createApproval(t, key)).id;
});
afterAll(async () => {
  await t?.close();
});

/** Sends, then asserts the problem and that nothing stored changed. */
async function expectRefusedUnchanged(
  send: () => Promise<ApiResponse<unknown>>,
  code: ErrorCode,
  pointers?: string[],
): Promise<void> {
  const before = await snapshotData(t);
  expectProblem(await send(), code, pointers);
  expect(await snapshotData(t)).toEqual(before);
}

const create = (body: unknown) => t.call('POST', '/v1/approvals', { key, body });
const createRaw = (rawBody: string) => t.call('POST', '/v1/approvals', { key, rawBody, headers: json });

/** Each text field of a create body, with a builder that puts `text` there. */
const TEXT_FIELDS: [string, string, (text: string) => unknown][] = [
  ['title', '/title', (text) => ({ ...minimal, title: `a${text}b` })],
  ['reason', '/reason', (text) => ({ ...minimal, reason: text })],
  [
    'requester name',
    '/requester/name',
    (text) => ({ ...minimal, requester: { ...minimal.requester, name: text } }),
  ],
  ['agent name', '/agent/name', (text) => ({ ...minimal, agent: { name: `bot${text}` } })],
  ['agent model', '/agent/model', (text) => ({ ...minimal, agent: { name: 'bot', model: text } })],
  ['agent runId', '/agent/runId', (text) => ({ ...minimal, agent: { name: 'bot', runId: text } })],
  ['context value', '/context/table', (text) => ({ ...minimal, context: { table: text } })],
  [
    'nested context value',
    '/context/steps/1/cmd',
    (text) => ({ ...minimal, context: { steps: [{ cmd: 'ok' }, { cmd: `rm ${text}` }] } }),
  ],
  ['context key', '/context/ta\\u0000ble', (text) => ({ ...minimal, context: { [`ta${text}ble`]: 1 } })],
  ['sensitive pointer', '/sensitive/0', (text) => ({ ...minimal, sensitive: [`/a${text}`] })],
];

describe('text that Postgres cannot store as sent is refused with 422 naming the field', () => {
  it.each(TEXT_FIELDS.filter(([name]) => name !== 'context key'))(
    'NUL in %s',
    async (_name, pointer, build) => {
      await expectRefusedUnchanged(() => create(build(NUL)), 'VALIDATION_FAILED', [pointer]);
    },
  );

  it('NUL in a context key', async () => {
    const response = await create({ ...minimal, context: { [`ta${NUL}ble`]: 1 } });
    const problem = expectProblem(response, 'VALIDATION_FAILED');
    expect(problem.errors?.[0]?.pointer).toBe('/context/ta\\u0000ble');
    expect(problem.errors?.[0]?.message).toMatch(/NUL/);
  });

  it.each(TEXT_FIELDS.filter(([name]) => name !== 'context key'))(
    'a lone surrogate in %s (never stored as U+FFFD)',
    async (_name, pointer, build) => {
      await expectRefusedUnchanged(() => create(build(LONE)), 'VALIDATION_FAILED', [pointer]);
    },
  );

  it('a lone surrogate in a context key', async () => {
    const problem = expectProblem(
      await create({ ...minimal, context: { [`k${LONE}`]: 1 } }),
      'VALIDATION_FAILED',
    );
    expect(problem.errors?.[0]?.pointer).toBe('/context/k\\ud800');
    expect(problem.errors?.[0]?.message).toMatch(/surrogate/);
  });

  it('a correctly paired surrogate (an emoji) is fine', async () => {
    const created = await createApproval(t, key, {
      ...minimal,
      title: 'ship it 🚀',
      context: { '🔑': '🚀' },
    });
    expect(created).toMatchObject({ title: 'ship it 🚀', context: { '🔑': '🚀' } });
  });

  it.each([
    ['NUL', NUL],
    ['a lone surrogate', LONE],
  ])('%s in a cancel reason', async (_name, text) => {
    await expectRefusedUnchanged(
      () => t.call('POST', `/v1/approvals/${pendingId}/cancel`, { key, body: { reason: `no${text}` } }),
      'VALIDATION_FAILED',
      ['/reason'],
    );
  });

  it.each([
    ['action', '/v1/approvals?action=db%00export', '/action'],
    ['requester', '/v1/approvals?requester=a%00@example.com', '/requester'],
    ['cursor', '/v1/approvals?cursor=ab%00cd', '/cursor'],
    ['wait', `/v1/approvals/${'7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10'}?wait=1%00`, '/wait'],
  ])('NUL in the %s query parameter', async (_name, path, pointer) => {
    await expectRefusedUnchanged(() => t.call('GET', path, { key }), 'VALIDATION_FAILED', [pointer]);
  });

  it('bytes that are not UTF-8 are refused, not decoded to U+FFFD', async () => {
    const before = await snapshotData(t);
    const body = Buffer.concat([
      Buffer.from('{"action":"db.export","requester":{"email":"alice@example.com"},"title":"a'),
      Buffer.from([0xed, 0xa0, 0x80, 0xff]),
      Buffer.from('"}'),
    ]);
    const response = await fetch(`${t.url}/v1/approvals`, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${key}` },
      body,
    });
    const problem = expectProblem(
      { status: response.status, headers: response.headers, body: await response.json() },
      'MALFORMED_JSON',
    );
    expect(problem.detail).toMatch(/UTF-8/);
    expect(await snapshotData(t)).toEqual(before);
  });
});

describe('keys JavaScript treats specially are refused, not dropped', () => {
  it.each([
    [
      '__proto__ in context',
      `{"action":"db.export","requester":{"email":"a@example.com"},"context":{"__proto__":{"admin":true},"x":1}}`,
      '/context/__proto__',
    ],
    [
      'constructor in context',
      `{"action":"db.export","requester":{"email":"a@example.com"},"context":{"constructor":1}}`,
      '/context/constructor',
    ],
    [
      'prototype deep in context',
      `{"action":"db.export","requester":{"email":"a@example.com"},"context":{"a":[{"b":{"prototype":1}}]}}`,
      '/context/a/0/b/prototype',
    ],
    [
      '__proto__ at the top level',
      `{"action":"db.export","requester":{"email":"a@example.com"},"__proto__":{"quorum":0}}`,
      '/__proto__',
    ],
    [
      '__proto__ in the agent',
      `{"action":"db.export","requester":{"email":"a@example.com"},"agent":{"name":"x","__proto__":{}}}`,
      '/agent/__proto__',
    ],
  ])('%s', async (_name, rawBody, pointer) => {
    await expectRefusedUnchanged(() => createRaw(rawBody), 'VALIDATION_FAILED', [pointer]);
  });

  it('__proto__ in a cancel body', async () => {
    await expectRefusedUnchanged(
      () =>
        t.call('POST', `/v1/approvals/${pendingId}/cancel`, {
          key,
          rawBody: '{"__proto__":{"reason":"x"}}',
          headers: json,
        }),
      'VALIDATION_FAILED',
      ['/__proto__'],
    );
  });

  it('__proto__ as a query parameter', async () => {
    await expectRefusedUnchanged(
      () => t.call('GET', '/v1/approvals?__proto__=x', { key }),
      'VALIDATION_FAILED',
      ['/__proto__'],
    );
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'an agent named %s is just a name',
    async (name) => {
      const created = await createApproval(t, key, { ...minimal, agent: { name } });
      expect(created.agent).toEqual({ name });
    },
  );
});

/** `depth` levels of objects: {"a":{"a":…{}}}, the outermost being context. */
function nestedObject(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

describe(`nesting deeper than ${MAX_JSON_DEPTH} levels is 422 before any recursive walk`, () => {
  it('accepts exactly the limit (the body is level 1, context level 2)', async () => {
    const raw = `{"action":"db.export","requester":{"email":"a@example.com"},"context":${nestedObject(MAX_JSON_DEPTH - 1)}}`;
    expect((await createRaw(raw)).status).toBe(201);
  });

  it('refuses one level more, pointing at the first level too deep', async () => {
    const raw = `{"action":"db.export","requester":{"email":"a@example.com"},"context":${nestedObject(MAX_JSON_DEPTH)}}`;
    const pointer = '/context' + '/a'.repeat(MAX_JSON_DEPTH - 1);
    await expectRefusedUnchanged(() => createRaw(raw), 'VALIDATION_FAILED', [pointer]);
  });

  it.each([
    [
      'objects',
      `{"action":"db.export","requester":{"email":"a@example.com"},"context":${nestedObject(5000)}}`,
    ],
    [
      'arrays',
      `{"action":"db.export","requester":{"email":"a@example.com"},"context":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
    ],
  ])(
    'refuses thousands of levels of %s (the masking walk used to overflow the stack)',
    async (_name, raw) => {
      await expectRefusedUnchanged(() => createRaw(raw), 'VALIDATION_FAILED');
    },
  );
});

describe('paths whose % escapes do not decode', () => {
  it.each([
    ['GET', '/v1/approvals/%E0%A4%A'],
    ['GET', '/v1/approvals/%ZZ'],
    ['GET', '/v1/approvals/%C0%AF'],
    ['POST', '/v1/approvals/%ED%A0%80/cancel'],
  ])('%s %s is 400', async (method, path) => {
    await expectRefusedUnchanged(() => t.call(method, path, { key }), 'MALFORMED_REQUEST');
  });

  it('a % escape that decodes to a NUL in an id is simply not found', async () => {
    await expectRefusedUnchanged(() => t.call('GET', '/v1/approvals/%00', { key }), 'NOT_FOUND');
  });
});

describe('Content-Encoding', () => {
  const body = JSON.stringify(minimal);
  const send = (encoding: string, payload: Buffer | string) =>
    fetch(`${t.url}/v1/approvals`, {
      method: 'POST',
      headers: { ...json, 'content-encoding': encoding, authorization: `Bearer ${key}` },
      body: payload,
    }).then(async (r) => {
      const parsed: unknown = await r.json();
      return { status: r.status, headers: r.headers, body: parsed };
    });

  it.each([
    ['gzip', body],
    ['deflate', gzipSync(body)],
    ['br', body],
    ['gzip', gzipSync(body).subarray(0, 20)],
  ])('%s that the body does not match is 400', async (encoding, payload) => {
    await expectRefusedUnchanged(() => send(encoding, payload), 'CONTENT_ENCODING_INVALID');
  });

  it.each(['compress', 'x-custom', 'gzip, br'])('an unsupported encoding (%s) is 415', async (encoding) => {
    await expectRefusedUnchanged(() => send(encoding, body), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('a body that matches its gzip encoding is accepted', async () => {
    const response = await send('gzip', gzipSync(body));
    expect(response.status).toBe(201);
    expect((response.body as Approval).action).toBe('db.export');
  });

  it('a gzip body that inflates past 64 KiB is 413', async () => {
    const big = JSON.stringify({ ...minimal, reason: 'x'.repeat(100 * 1024) });
    await expectRefusedUnchanged(() => send('gzip', gzipSync(big)), 'PAYLOAD_TOO_LARGE');
  });
});

/** Writes raw bytes to the server and returns what came back, parsed as one HTTP/1.1 response. */
function rawRequest(bytes: string | Buffer): Promise<ApiResponse<unknown>> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers = new Headers();
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
      }
      const status = Number(statusLine.split(' ')[1]);
      const bodyText = rest.join('\r\n\r\n');
      resolve({ status, headers, body: bodyText ? (JSON.parse(bodyText) as unknown) : bodyText });
    });
  });
}

describe("Node's own parser errors are problem+json", () => {
  it.each([
    [
      'a control character in a header value',
      `GET /v1/approvals HTTP/1.1\r\nHost: x\r\nX-Evil: a\u0001b\r\n\r\n`,
    ],
    ['a header name with a space', `GET /v1/approvals HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n`],
    ['a raw path with a control character', `GET /v1/appro\u0001vals HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a raw path with a space', `GET /v1/ap provals HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
    [
      'a bad chunk size',
      `POST /v1/approvals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    ],
  ])('%s → 400', async (_name, bytes) => {
    await expectRefusedUnchanged(() => rawRequest(bytes), 'MALFORMED_REQUEST');
  });

  it('headers over the limit → 431', async () => {
    await expectRefusedUnchanged(
      () => rawRequest(`GET /v1/approvals HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      'HEADERS_TOO_LARGE',
    );
  });
});
