// GET /v1/approvals: keyset pagination, filters, and each client seeing only its own requests.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createApproval,
  expectProblem,
  ManualClock,
  snapshotData,
  withPgClient,
  type Approval,
} from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

interface Page {
  items: Approval[];
  nextCursor: string | null;
}

describe('GET /v1/approvals', () => {
  const clock = new ManualClock();
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ clock });
  });
  afterEach(() => clock.useRealTime());
  afterAll(async () => {
    await t?.close();
  });

  const list = (key: string, query = '') => t.call<Page>('GET', `/v1/approvals${query}`, { key });

  async function allPages(key: string, query: string): Promise<Page[]> {
    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const separator = query ? '&' : '?';
      const response = await list(key, cursor ? `${query}${separator}cursor=${cursor}` : query);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      pages.push(response.body);
      cursor = response.body.nextCursor;
      expect(pages.length).toBeLessThan(10);
    } while (cursor);
    return pages;
  }

  it('pages through 25 requests, newest first, with no duplicates or gaps', async () => {
    const { key } = await t.createKey();
    clock.set(new Date('2026-01-01T00:00:00Z'), 1000);
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await createApproval(t, key, { action: `page.item${i}` })).id);
    clock.useRealTime();

    const pages = await allPages(key, '?limit=10');
    expect(pages.map((p) => p.items.length)).toEqual([10, 10, 5]);
    expect(pages.map((p) => p.nextCursor === null)).toEqual([false, false, true]);
    const ids = pages.flatMap((p) => p.items.map((item) => item.id));
    expect(ids).toEqual([...created].reverse());
  });

  it('keeps pages whole when many requests share one createdAt (ties broken by id)', async () => {
    const { key } = await t.createKey();
    clock.set(new Date('2026-02-01T00:00:00Z'), 0);
    const created: string[] = [];
    for (let i = 0; i < 25; i++) created.push((await createApproval(t, key)).id);
    clock.useRealTime();

    const ids = (await allPages(key, '?limit=10')).flatMap((p) => p.items.map((item) => item.id));
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    expect([...ids].sort()).toEqual([...created].sort());
  });

  it('is stable under inserts between pages: a new request does not shift the next page', async () => {
    const { key } = await t.createKey();
    clock.set(new Date('2026-03-01T00:00:00Z'), 1000);
    const created: string[] = [];
    for (let i = 0; i < 6; i++) created.push((await createApproval(t, key)).id);
    const first = await list(key, '?limit=3');
    await createApproval(t, key);
    clock.useRealTime();
    const second = await list(key, `?limit=3&cursor=${String(first.body.nextCursor)}`);
    expect(second.body.items.map((item) => item.id)).toEqual(created.slice(0, 3).reverse());
  });

  it('uses a default page size of 20', async () => {
    const { key } = await t.createKey();
    for (let i = 0; i < 21; i++) await createApproval(t, key);
    const page = await list(key);
    expect(page.body.items).toHaveLength(20);
    expect(page.body.nextCursor).toEqual(expect.any(String));
  });

  it('filters by status, action and requester (case-insensitively), alone and combined', async () => {
    const { key } = await t.createKey();
    const a = await createApproval(t, key, {
      action: 'db.export',
      requester: { email: 'alice@example.com' },
    });
    const b = await createApproval(t, key, { action: 'db.export', requester: { email: 'bob@example.com' } });
    const c = await createApproval(t, key, {
      action: 'iam.role.grant',
      requester: { email: 'alice@example.com' },
    });
    await withPgClient(t.database.url, (client) =>
      client.query(`UPDATE approval_requests SET status = 'approved', decided_at = now() WHERE id = $1`, [
        b.id,
      ]),
    );
    const ids = async (query: string) => {
      const response = await list(key, query);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.items.map((item) => item.id).sort();
    };
    expect(await ids('?status=pending')).toEqual([a.id, c.id].sort());
    expect(await ids('?status=approved')).toEqual([b.id]);
    expect(await ids('?status=denied')).toEqual([]);
    expect(await ids('?action=db.export')).toEqual([a.id, b.id].sort());
    expect(await ids('?requester=ALICE%40Example.com')).toEqual([a.id, c.id].sort());
    expect(await ids('?action=db.export&requester=alice%40example.com&status=pending')).toEqual([a.id]);
  });

  it('shows a client only its own requests; GET and cancel of another client’s id are 404', async () => {
    const mine = await t.createKey();
    const theirs = await t.createKey();
    const own = await createApproval(t, mine.key);
    const foreign = await createApproval(t, theirs.key);

    const ids = (await allPages(mine.key, '')).flatMap((p) => p.items.map((item) => item.id));
    expect(ids).toEqual([own.id]);

    const before = await snapshotData(t);
    expectProblem(await t.call('GET', `/v1/approvals/${foreign.id}`, { key: mine.key }), 'NOT_FOUND');
    expectProblem(await t.call('GET', `/v1/approvals/${foreign.id}?wait=5`, { key: mine.key }), 'NOT_FOUND');
    expectProblem(await t.call('POST', `/v1/approvals/${foreign.id}/cancel`, { key: mine.key }), 'NOT_FOUND');
    expect(await snapshotData(t)).toEqual(before);
    const still = await t.call<Approval>('GET', `/v1/approvals/${foreign.id}`, { key: theirs.key });
    expect(still.body.status).toBe('pending');
  });

  it('keeps clients apart under concurrent reads', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => t.createKey()));
    const owned = [];
    for (const client of clients) {
      for (let i = 0; i < 4; i++)
        owned.push({ key: client.key, id: (await createApproval(t, client.key)).id });
    }
    const responses = await Promise.all(
      owned.map(({ key, id }) => t.call<Approval>('GET', `/v1/approvals/${id}`, { key })),
    );
    expect(responses.map((r) => [r.status, r.body.id])).toEqual(owned.map(({ id }) => [200, id]));
  });

  it.each([
    ['not base64 JSON', 'abc'],
    ['JSON of the wrong shape', Buffer.from('{"c":"x","i":"y"}').toString('base64url')],
    [
      'an extra member',
      Buffer.from(
        '{"c":"2026-01-01T00:00:00.000Z","i":"7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10","x":1}',
      ).toString('base64url'),
    ],
  ])('refuses a cursor that is %s with 422 INVALID_CURSOR', async (_label, cursor) => {
    const { key } = await t.createKey();
    expectProblem(await list(key, `?cursor=${cursor}`), 'INVALID_CURSOR', ['/cursor']);
  });

  it.each(['0', '101', 'abc', '-1', '2.5'])(
    'refuses limit=%s with 422 and a pointer to /limit',
    async (limit) => {
      const { key } = await t.createKey();
      expectProblem(await list(key, `?limit=${limit}`), 'VALIDATION_FAILED', ['/limit']);
    },
  );

  it('accepts limit=1 and limit=100', async () => {
    const { key } = await t.createKey();
    await createApproval(t, key);
    await createApproval(t, key);
    expect((await list(key, '?limit=1')).body.items).toHaveLength(1);
    expect((await list(key, '?limit=100')).body.items).toHaveLength(2);
  });

  it.each([
    ['status=done', '/status'],
    ['requester=not-an-email', '/requester'],
    ['bogus=1', '/bogus'],
  ])('refuses the filter %s with 422', async (query, pointer) => {
    const { key } = await t.createKey();
    expectProblem(await list(key, `?${query}`), 'VALIDATION_FAILED', [pointer]);
  });
});
