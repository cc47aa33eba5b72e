// The served contracts pass their ecosystems' linters: /openapi.json the Redocly CLI's recommended
// ruleset (run for real, offline), /metrics a Prometheus text-format parser plus promtool's naming
// rules; and the counters operators alert on move when the things they count happen.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApproval } from '../support/api-fixtures.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { decide } from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const familySchema = z.object({
  name: z.string(),
  help: z.string(),
  type: z.enum(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED']),
  metrics: z.array(
    z.looseObject({ labels: z.record(z.string(), z.string()).optional(), value: z.string().optional() }),
  ),
});
type Family = z.infer<typeof familySchema>;

async function runRedocly(file: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--format=summary'],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        REDOCLY_TELEMETRY: 'off',
        REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

describe('lint-clean contracts', { timeout: 120_000 }, () => {
  let t: TestServer;
  let key: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-contracts-'));
    t = await startTestServer();
    ({ key } = await t.createKey());
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const families = async (): Promise<Family[]> => {
    const response = await t.call<string>('GET', '/metrics');
    expect(response.status).toBe(200);
    return z.array(familySchema).parse(parsePrometheusTextFormat(response.body));
  };
  const value = (all: Family[], name: string, labels: Record<string, string>): number => {
    const family = all.find((f) => f.name === name);
    expect(family, `metric family ${name}`).toBeDefined();
    const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return Number(sample?.value ?? 'NaN');
  };

  it('/openapi.json passes `redocly lint` with the recommended ruleset: no errors, no warnings', async () => {
    const doc = await t.call<Record<string, unknown>>('GET', '/openapi.json');
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc.body));
    const result = await runRedocly(file);
    expect(result.output).toContain('Your API description is valid');
    // The summary lists one `error   <rule>: n` or `warning <rule>: n` line per failing rule.
    expect(result.output).not.toMatch(/^(error|warning)\s+\S+: \d+/m);
    expect(result.code, result.output).toBe(0);
  });

  it('every operation has an operationId; public ones say `security: []`', async () => {
    const doc = z
      .object({
        servers: z.array(z.object({ url: z.string() })).min(1),
        security: z.array(z.record(z.string(), z.array(z.string()))),
        paths: z.record(
          z.string(),
          z.record(
            z.string(),
            z.object({ operationId: z.string(), security: z.array(z.unknown()).optional() }),
          ),
        ),
      })
      .parse((await t.call('GET', '/openapi.json')).body);
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, ...op })),
    );
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const publicPaths = operations.filter((o) => o.security?.length === 0).map((o) => o.path);
    expect(publicPaths.sort()).toEqual([
      '/cli/countersign.mjs',
      '/healthz',
      '/readyz',
      '/v1/keys/events',
      '/v1/keys/receipt',
    ]);
    expect(doc.security).toEqual([{ apiKey: [] }]);
  });

  it('/metrics parses as Prometheus text and follows promtool’s naming rules', async () => {
    const all = await families();
    expect(all.length).toBeGreaterThan(10);
    for (const family of all) {
      expect(family.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      expect(family.help, family.name).not.toBe('');
      // promtool: counters end in _total, and nothing else may.
      if (family.type === 'COUNTER') expect(family.name, family.name).toMatch(/_total$/);
      else expect(family.name, `${family.type} ${family.name}`).not.toMatch(/_total$/);
    }
    for (const name of [
      'countersign_verdicts_total',
      'countersign_decisions_total',
      'countersign_refusals_total',
      'countersign_callback_attempts_total',
      'countersign_chat_api_calls_total',
      'countersign_queue_depth',
      'nodejs_active_handles',
    ]) {
      expect(all.map((f) => f.name)).toContain(name);
    }
  });

  it('counts verdicts by outcome, decisions by verdict and refusals by reason as they happen', async () => {
    const before = await families();
    const approved = await createApproval(t, key, { approvers: ['bob@example.com'] });
    const cancelled = await createApproval(t, key);
    await decide(t.server.db, approved.id, 'approve');
    await decide(t.server.db, cancelled.id, 'approve', 'alice@example.com').catch(() => undefined); // self-approval
    expect((await t.call('POST', `/v1/approvals/${cancelled.id}/cancel`, { key, body: {} })).status).toBe(
      200,
    );
    const after = await families();
    const delta = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    expect(delta('countersign_verdicts_total', { outcome: 'approved' })).toBe(1);
    expect(delta('countersign_verdicts_total', { outcome: 'cancelled' })).toBe(1);
    expect(delta('countersign_verdicts_total', { outcome: 'denied' })).toBe(0);
    expect(delta('countersign_decisions_total', { verdict: 'approve' })).toBe(1);
    expect(delta('countersign_refusals_total', { reason: 'self_approval' })).toBe(1);
    expect(value(after, 'countersign_callback_attempts_total', { result: 'success' })).toBe(0);
  });
});
