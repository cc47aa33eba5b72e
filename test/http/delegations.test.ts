// /v1/delegations (scope admin) over HTTP: create, list, remove, each audited with the calling
// client as actor; a bad body is a precise 422 and stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, withPgClient } from '../support/api-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

interface DelegationBody {
  id: string;
  from: string;
  to: string;
  until: string;
  reason: string | null;
  createdBy: string;
  createdAt: string;
  removedAt: string | null;
}

const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString();

describe('/v1/delegations', { timeout: 60_000 }, () => {
  let t: TestServer;
  let admin: string;
  let clientId: string;

  beforeAll(async () => {
    t = await startTestServer();
    const created = await t.createKey('ops', ['admin']);
    admin = created.key;
    clientId = created.clientId;
  });
  afterAll(async () => {
    await t?.close();
  });

  const create = (body: unknown) => t.call<DelegationBody>('POST', '/v1/delegations', { key: admin, body });
  const list = (query = '') =>
    t.call<{ items: DelegationBody[] }>('GET', `/v1/delegations${query}`, { key: admin });
  const remove = (id: string) =>
    t.call<DelegationBody>('POST', `/v1/delegations/${id}/remove`, { key: admin });

  async function stored(): Promise<{ delegations: number; events: number }> {
    return withPgClient(t.database.url, async (c) => {
      const { rows } = await c.query<{ delegations: number; events: number }>(
        `SELECT (SELECT count(*) FROM delegations)::int AS delegations,
                (SELECT count(*) FROM audit_events)::int AS events`,
      );
      return rows[0] ?? { delegations: -1, events: -1 };
    });
  }

  async function eventsOf(delegationId: string): Promise<{ type: string; actor: string }[]> {
    return withPgClient(t.database.url, async (c) => {
      const { rows } = await c.query<{ type: string; actor: string }>(
        `SELECT type, actor FROM audit_events WHERE payload->>'delegationId' = $1 ORDER BY seq`,
        [delegationId],
      );
      return rows;
    });
  }

  it('creates a delegation (lower-cased emails, a bare date runs through that day), audited', async () => {
    const until = inDays(10).slice(0, 10);
    const response = await create({
      from: 'Bob@Example.com',
      to: 'carol@example.com',
      until,
      reason: 'on leave',
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body).toMatchObject({
      from: 'bob@example.com',
      to: 'carol@example.com',
      until: new Date(Date.parse(`${until}T00:00:00Z`) + DAY).toISOString(),
      reason: 'on leave',
      createdBy: `client:${clientId}`,
      removedAt: null,
    });
    expect(await eventsOf(response.body.id)).toEqual([
      { type: 'delegation.created', actor: `client:${clientId}` },
    ]);
  });

  it('lists active delegations, filters by email, and includes ended ones only when asked', async () => {
    const dave = await create({ from: 'dave@example.com', to: 'erin@example.com', until: inDays(3) });
    expect(dave.status).toBe(201);
    const frank = await create({ from: 'frank@example.com', to: 'gina@example.com', until: inDays(3) });
    expect(frank.status).toBe(201);
    expect((await remove(frank.body.id)).status).toBe(200);

    const active = await list();
    expect(active.status).toBe(200);
    const activeIds = active.body.items.map((d) => d.id);
    expect(activeIds).toContain(dave.body.id);
    expect(activeIds).not.toContain(frank.body.id);

    const erin = await list('?email=Erin@example.com');
    expect(erin.body.items.map((d) => d.id)).toEqual([dave.body.id]);

    const all = await list('?ended=true&email=frank@example.com');
    expect(all.body.items.map((d) => d.id)).toEqual([frank.body.id]);
    expect(all.body.items[0]?.removedAt).toEqual(expect.stringMatching(/^\d{4}-/));

    expectProblem(await list('?email=not-an-email'), 'VALIDATION_FAILED', ['/email']);
    expectProblem(await list('?ended=yes'), 'VALIDATION_FAILED', ['/ended']);
    expectProblem(await list('?bogus=1'), 'VALIDATION_FAILED');
  });

  it('removes a delegation once (audited once); an unknown or malformed id is 404', async () => {
    const created = await create({ from: 'hal@example.com', to: 'ivy@example.com', until: inDays(2) });
    const removed = await remove(created.body.id);
    expect(removed.status).toBe(200);
    expect(removed.body.id).toBe(created.body.id);
    expect(removed.body.removedAt).toEqual(expect.stringMatching(/^\d{4}-/));
    const again = await remove(created.body.id);
    expect(again.status).toBe(200);
    expect(again.body.removedAt).toBe(removed.body.removedAt);
    expect(await eventsOf(created.body.id)).toEqual([
      { type: 'delegation.created', actor: `client:${clientId}` },
      { type: 'delegation.removed', actor: `client:${clientId}` },
    ]);
    expectProblem(await remove('7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10'), 'NOT_FOUND');
    expectProblem(await remove('not-a-uuid'), 'NOT_FOUND');
  });

  it('refuses bad input with a precise 422 and stores nothing', async () => {
    const good = { from: 'jay@example.com', to: 'kim@example.com', until: inDays(5) };
    const loop = await create({ from: 'lee@example.com', to: 'max@example.com', until: inDays(5) });
    expect(loop.status).toBe(201);
    const before = await stored();
    expectProblem(await create({}), 'VALIDATION_FAILED', ['/from', '/to', '/until']);
    expectProblem(await create({ ...good, from: 'jay' }), 'VALIDATION_FAILED', ['/from']);
    expectProblem(await create({ ...good, until: 'next week' }), 'VALIDATION_FAILED', ['/until']);
    expectProblem(await create({ ...good, bogus: true }), 'VALIDATION_FAILED', ['/bogus']);
    expectProblem(await create({ ...good, reason: 'x'.repeat(2001) }), 'VALIDATION_FAILED', ['/reason']);
    const past = expectProblem(await create({ ...good, until: '2020-01-01' }), 'VALIDATION_FAILED', [
      '/until',
    ]);
    expect(past.detail).toContain('not in the future');
    const far = expectProblem(await create({ ...good, until: inDays(367) }), 'VALIDATION_FAILED', ['/until']);
    expect(far.detail).toContain('more than 366 days away');
    const self = expectProblem(await create({ ...good, to: 'JAY@example.com' }), 'DELEGATION_REFUSED', [
      '/to',
    ]);
    expect(self.detail).toContain('cannot delegate to themselves');
    const closing = expectProblem(
      await create({ from: 'max@example.com', to: 'lee@example.com', until: inDays(5) }),
      'DELEGATION_REFUSED',
      ['/to'],
    );
    expect(closing.detail).toContain('close a loop');
    expect(await stored()).toEqual(before);
  });

  it('is refused to a key without scope admin', async () => {
    const { key } = await t.createKey('pipeline', ['approvals:write']);
    const response = await t.call('GET', '/v1/delegations', { key });
    expectProblem(response, 'INSUFFICIENT_SCOPE');
  });
});
