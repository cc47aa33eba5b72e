import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe('approvals API smoke', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates and reads a request', async () => {
    const { key } = await t.createKey();
    const created = await t.call('POST', '/v1/approvals', {
      key,
      body: { action: 'db.export', requester: { email: 'alice@example.com' } },
    });
    expect(created.status).toBe(201);
    const read = await t.call('GET', `/v1/approvals/${String(created.body['id'])}`, { key });
    expect(read.status).toBe(200);
    expect(read.body['status']).toBe('pending');
  });
});
