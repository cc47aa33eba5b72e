// POST /v1/gateway/calls: an allowed gateway call into the audit chain, with the route's auth and
// validation like every /v1 route: no key 401, a read-only key 403, a bad body 422 — nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const CALL = {
  server: 'files',
  tool: 'read_text_file',
  requester: 'alice@example.com',
  agent: null,
  payloadDigest: DIGEST,
  isError: false,
  resultDigest: `sha256:${'b'.repeat(64)}`,
  error: null,
  secrets: ['github-token'],
};

describe('POST /v1/gateway/calls', () => {
  let t: TestServer;
  let writeKey: { key: string; clientId: string };
  let readKey: { key: string };
  beforeAll(async () => {
    t = await startTestServer();
    writeKey = await t.createKey();
    readKey = await t.createKey('reader', ['approvals:read']);
  });
  afterAll(async () => {
    await t?.close();
  });

  const events = () =>
    withPgClient(t.database.url, async (c) => {
      const { rows } = await c.query<{ actor: string; payload: unknown }>(
        `SELECT actor, payload FROM audit_events WHERE type = 'gateway.call.forwarded' ORDER BY seq`,
      );
      return rows;
    });

  it('appends a gateway.call.forwarded event for the calling client', async () => {
    const answer = await t.call('POST', '/v1/gateway/calls', { key: writeKey.key, body: CALL });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ recorded: true });
    expect(await events()).toEqual([
      { actor: `client:${writeKey.clientId}`, payload: { clientId: writeKey.clientId, ...CALL } },
    ]);
  });

  it('refuses no key, a read-only key and a bad body, storing nothing', async () => {
    const before = (await events()).length;
    expect((await t.call('POST', '/v1/gateway/calls', { body: CALL })).status).toBe(401);
    expect((await t.call('POST', '/v1/gateway/calls', { key: readKey.key, body: CALL })).status).toBe(403);
    const bad = await t.call<{ code: string; errors: { pointer: string }[] }>('POST', '/v1/gateway/calls', {
      key: writeKey.key,
      body: { ...CALL, payloadDigest: 'md5:x', arguments: { path: '/etc/passwd' } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e) => e.pointer).sort()).toEqual(['/arguments', '/payloadDigest']);
    expect((await events()).length).toBe(before);
  });
});
