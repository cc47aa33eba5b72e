// Health, readiness, OpenAPI, metrics, request ids and what the logs may (not) contain.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApproval, expectProblem, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { scheme?: string }> };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('observability', () => {
  let captured: CapturedLog;
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    captured = capturingLogger();
    t = await startTestServer({ log: captured.log });
    ({ key } = await t.createKey());
  });
  afterAll(async () => {
    await t?.close();
  });

  const metricsText = async () => {
    const response = await t.call<string>('GET', '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.body;
  };
  const sample = (text: string, series: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('answers /healthz and /readyz', async () => {
    const health = await t.call('GET', '/healthz');
    expect([health.status, health.body]).toEqual([200, { status: 'ok' }]);
    const ready = await t.call('GET', '/readyz');
    expect([ready.status, ready.body]).toEqual([200, { status: 'ready' }]);
  });

  it('reports NOT_READY while a migration is not applied, and ready again once it is', async () => {
    const rollBack = (at: string) =>
      withPgClient(t.database.url, (client) =>
        client.query(
          `UPDATE _prisma_migrations SET rolled_back_at = ${at}
           WHERE migration_name = (SELECT min(migration_name) FROM _prisma_migrations)`,
        ),
      );
    await rollBack('now()');
    try {
      expectProblem(await t.call('GET', '/readyz'), 'NOT_READY');
    } finally {
      await rollBack('NULL');
    }
    expect((await t.call('GET', '/readyz')).status).toBe(200);
  });

  it('serves an OpenAPI 3.1 document generated from the contracts', async () => {
    const response = await t.call<OpenApiDocument>('GET', '/openapi.json');
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/approvals',
        '/v1/approvals/{id}',
        '/v1/approvals/{id}/cancel',
        '/healthz',
        '/readyz',
      ]),
    );
    expect(Object.keys(doc.paths['/v1/approvals'] ?? {})).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(doc.paths['/v1/approvals/{id}/cancel'] ?? {})).toEqual(['post']);
    expect(doc.components.schemas).toHaveProperty('Approval');
    expect(doc.components.schemas).toHaveProperty('Problem');
    expect(doc.components.securitySchemes['apiKey']?.scheme).toBe('bearer');
  });

  it('counts HTTP requests by route pattern, never by raw id', async () => {
    const { id } = await createApproval(t, key);
    const series = 'countersign_http_requests_total{method="GET",route="/v1/approvals/:id",status="200"}';
    const unmatched = 'countersign_http_requests_total{method="GET",route="unmatched",status="404"}';
    const beforeText = await metricsText();
    const before = sample(beforeText, series) ?? 0;
    const unmatchedBefore = sample(beforeText, unmatched) ?? 0;
    await t.call('GET', `/v1/approvals/${id}`, { key });
    await t.call('GET', `/v1/approvals/${id}`, { key });
    await t.call('GET', '/v1/no-such-route');
    const text = await metricsText();
    expect(sample(text, series)).toBe(before + 2);
    expect(sample(text, unmatched)).toBe(unmatchedBefore + 1);
    expect(text).toContain('countersign_http_request_duration_seconds_bucket{');
    expect(text).not.toContain(id);
    expect(text).not.toMatch(UUID);
  });

  it('reports stored requests by status', async () => {
    const a = await createApproval(t, key);
    await createApproval(t, key);
    await t.call('POST', `/v1/approvals/${a.id}/cancel`, { key });
    const counts = await withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ status: string; n: number }>(
        'SELECT status::text AS status, count(*)::int AS n FROM approval_requests GROUP BY status',
      );
      return new Map(rows.map((r) => [r.status, r.n]));
    });
    expect(counts.get('pending')).toBeGreaterThanOrEqual(2);
    const text = await metricsText();
    for (const status of ['pending', 'approved', 'denied', 'expired', 'cancelled']) {
      expect(sample(text, `countersign_approval_requests{status="${status}"}`)).toBe(counts.get(status) ?? 0);
    }
  });

  it('echoes a valid X-Request-Id and replaces an unusable one', async () => {
    const echoed = await t.call('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc.123:x' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-abc.123:x');
    const generated = await t.call('GET', '/healthz');
    expect(generated.headers.get('x-request-id')).toMatch(UUID);
    for (const bad of ['has spaces in it', 'x'.repeat(129), 'semi;colon']) {
      const replaced = await t.call('GET', '/v1/nope', { headers: { 'x-request-id': bad } });
      expect(replaced.headers.get('x-request-id')).toMatch(UUID);
      expectProblem(replaced, 'ROUTE_NOT_FOUND');
    }
  });

  it('never logs an API key; the authorization header shows as [redacted]', async () => {
    const unknownKey = 'cs_notAKeyButStillSecret0123456789';
    await t.call('GET', '/v1/approvals', { key, headers: { 'x-request-id': 'log-valid-key' } });
    await t.call('GET', '/v1/approvals', { key: unknownKey, headers: { 'x-request-id': 'log-bad-key' } });
    await createApproval(t, key, {}, { headers: { 'x-request-id': 'log-create' } });
    await vi.waitFor(() => expect(linesOf('log-create').length).toBeGreaterThan(0));

    const text = captured.text();
    expect(text).not.toContain(key);
    expect(text).not.toContain(key.slice(3));
    expect(text).not.toContain(unknownKey);
    for (const id of ['log-valid-key', 'log-bad-key', 'log-create']) {
      const lines = linesOf(id);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(headersOf(line)['authorization']).toBe('[redacted]');
    }
  });

  it('stamps every log line of one request with that request’s id', async () => {
    const from = captured.lines().length;
    const response = await t.call('GET', '/v1/approvals/not-a-uuid', {
      key,
      headers: { 'x-request-id': 'one-request' },
    });
    expectProblem(response, 'NOT_FOUND');
    await vi.waitFor(() =>
      expect(
        captured
          .lines()
          .slice(from)
          .map((l) => l['msg']),
      ).toContain('request completed'),
    );
    const lines = captured.lines().slice(from);
    expect(lines.map((l) => l['msg'])).toEqual(['request refused', 'request completed']);
    for (const line of lines) expect(requestOf(line)['id']).toBe('one-request');
  });

  it('answers a pending long-poll at once on shutdown, then takes no new connections', async () => {
    const second = await startTestServer({ database: t.database });
    const { id } = await createApproval(second, key);
    const started = Date.now();
    const waiting = second.call<Approval>('GET', `/v1/approvals/${id}?wait=30`, { key });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await second.close();
    const response = await waiting;
    expect([response.status, response.body.status]).toEqual([200, 'pending']);
    expect(Date.now() - started).toBeLessThan(20_000);
    await expect(fetch(`${second.url}/healthz`)).rejects.toThrow();
  });

  function requestOf(line: Record<string, unknown>): Record<string, unknown> {
    return (line['req'] ?? {}) as Record<string, unknown>;
  }
  function headersOf(line: Record<string, unknown>): Record<string, unknown> {
    return (requestOf(line)['headers'] ?? {}) as Record<string, unknown>;
  }
  function linesOf(requestId: string): Record<string, unknown>[] {
    return captured.lines().filter((line) => requestOf(line)['id'] === requestId);
  }
});
