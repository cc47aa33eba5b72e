// Time-bound grants in the compliance report: a request a grant approved names the grant (its id,
// who approved it, its window) in JSON, CSV and Markdown rather than a bare `grant:<id>`, and the
// summary lists the grants issued, used and revoked in the period, with the counts; a period that
// only sees a grant used or revoked lists it too, and the action filter applies to grants.
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listGrants, revokeGrant } from '../../apps/server/src/approvals/grants.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { generateReport, type ReportFormat } from '../../apps/server/src/audit/report/generate-report.ts';
import { parseReportPeriod, type ReportPeriod } from '../../apps/server/src/audit/report/report-period.ts';
import type { ReportFilters, ReportRow } from '../../apps/server/src/audit/report/report-rows.ts';
import type { ReportSummary } from '../../apps/server/src/audit/report/report-summary.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { SettableClock } from '../support/settable-clock.ts';
import {
  approver,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const POLICY = `
rules:
  - { name: tools, actions: [mcp.files.*], approvers: [bob@example.com], grant: { upTo: 1h } }
  - { name: calls, actions: ['*'], approvers: [bob@example.com] }
`;
const AGENT = { name: 'coding-agent' };
const DAY = parseReportPeriod({ from: '2030-01-01', to: '2030-01-01' }, new Date());
const at = (hhmm: string) => new Date(`2030-01-01T${hhmm}:00.000Z`);

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

let m: MigratedDatabase;
let deps: Deps;
let clock: SettableClock;
let ids: { opener: string; granted: string[]; plain: string; grant: string };

async function report(format: ReportFormat, period: ReportPeriod = DAY, filters: ReportFilters = {}) {
  const out = new Collect();
  await generateReport({ db: m.db, period, format, filters, out, actor: 'cli:test', now: () => clock.now() });
  return out.text;
}

async function jsonReport(period?: ReportPeriod, filters?: ReportFilters) {
  return JSON.parse(await report('json', period, filters)) as { rows: ReportRow[]; summary: ReportSummary };
}

beforeAll(async () => {
  m = await openMigratedDatabase();
  clock = new SettableClock(at('09:00'));
  deps = testDeps(m.db, { policy: policyFromYaml(POLICY), clock });
  const opener = await createTestRequest(deps, { action: 'mcp.files.write', agent: AGENT });
  clock.set(at('09:01'));
  await recordDecision(deps, {
    requestId: opener.id,
    verdict: 'approve',
    approver: approver('bob@example.com'),
    grantMinutes: 20,
  });
  const [grant] = await listGrants(deps, { action: 'mcp.files.write' });
  if (!grant) throw new Error('no grant opened');
  clock.set(at('09:05'));
  const second = await createTestRequest(deps, { action: 'mcp.files.write', agent: AGENT });
  clock.set(at('09:06'));
  const third = await createTestRequest(deps, { action: 'mcp.files.write', agent: AGENT });
  expect([second.status, third.status]).toEqual(['approved', 'approved']);
  clock.set(at('09:07'));
  const plain = await createTestRequest(deps, { action: 'db.export' });
  await recordDecision(deps, {
    requestId: plain.id,
    verdict: 'approve',
    approver: approver('bob@example.com'),
  });
  clock.set(at('09:10'));
  await revokeGrant(deps, grant.id, 'admin:ops-key');
  clock.set(at('12:00'));
  ids = { opener: opener.id, granted: [second.id, third.id], plain: plain.id, grant: grant.id };
});
afterAll(async () => {
  await m?.close();
});

describe('grants in the audit report', () => {
  it('names the grant behind a granted request, and the window an approval chose, in JSON', async () => {
    const { rows, summary } = await jsonReport();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const grantRef = {
      id: ids.grant,
      openedBy: ids.opener,
      approvedBy: ['bob@example.com'],
      minutes: 20,
      from: '2030-01-01T09:01:00.000Z',
      until: '2030-01-01T09:21:00.000Z',
    };
    for (const id of ids.granted) {
      expect(byId.get(id)?.approvers).toEqual([
        expect.objectContaining({ email: `grant:${ids.grant}`, platform: 'grant', grant: grantRef }),
      ]);
    }
    expect(byId.get(ids.opener)?.approvers).toEqual([
      expect.objectContaining({ email: 'bob@example.com', grantMinutes: 20 }),
    ]);
    const plainApprover = byId.get(ids.plain)?.approvers[0];
    expect(plainApprover).toBeDefined();
    expect(plainApprover).not.toHaveProperty('grant');
    expect(plainApprover).not.toHaveProperty('grantMinutes');

    expect(summary.grants).toEqual({
      issued: 1,
      uses: 2,
      revoked: 1,
      grants: [
        {
          ...grantRef,
          action: 'mcp.files.write',
          requester: 'alice@example.com',
          agent: 'coding-agent',
          policyRule: 'tools',
          usesInPeriod: 2,
          revokedAt: '2030-01-01T09:10:00.000Z',
          revokedBy: 'admin:ops-key',
        },
      ],
    });
  });

  it('shows the grant in the CSV approvers cell and its grant_id column', async () => {
    const records = parse<Record<string, string>>(await report('csv'), {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    const granted = records.filter((r) => ids.granted.includes(r['id'] ?? ''));
    expect(granted).toHaveLength(2);
    for (const row of granted) {
      expect(row['grant_id']).toBe(ids.grant);
      expect(row['approvers']).toBe(
        `grant ${ids.grant} (approved by bob@example.com for 20 min on request ${ids.opener}, ` +
          `2030-01-01T09:01:00.000Z to 2030-01-01T09:21:00.000Z) approve ${row['decided_at']}`,
      );
    }
    const opener = records.find((r) => r['id'] === ids.opener);
    expect(opener?.['grant_id']).toBe('');
    expect(opener?.['approvers']).toMatch(/^bob@example\.com approve \S+ \[grant of 20 min\]$/);
  });

  it('has a grants section in Markdown, and names the grant in the rows', async () => {
    const md = await report('md');
    expect(md).toContain('### Time-bound grants');
    expect(md).toContain('Issued 1, requests approved by a grant 2, revoked 1 in the period.');
    expect(md).toContain(
      `| ${ids.grant} | mcp.files.write | alice@example.com | coding-agent | bob@example.com | ` +
        `20 min, 2030-01-01T09:01:00.000Z to 2030-01-01T09:21:00.000Z | ${ids.opener} | 2 | ` +
        '2030-01-01T09:10:00.000Z by admin:ops-key |',
    );
    expect(md).toContain(`grant ${ids.grant} \\(approved by bob@example.com for 20 min`);
    expect(md).not.toContain(`grant:${ids.grant} approve`);
  });

  it('lists a grant only used or revoked in the period, and filters grants by action', async () => {
    const later = parseReportPeriod({ from: '2030-01-01T09:04:00Z', to: '2030-01-01T09:30:00Z' }, new Date());
    expect((await jsonReport(later)).summary.grants).toMatchObject({
      issued: 0,
      uses: 2,
      revoked: 1,
      grants: [{ id: ids.grant, usesInPeriod: 2 }],
    });
    const afterwards = parseReportPeriod(
      { from: '2030-01-01T10:00:00Z', to: '2030-01-01T11:00:00Z' },
      new Date(),
    );
    expect((await jsonReport(afterwards)).summary.grants).toEqual({
      issued: 0,
      uses: 0,
      revoked: 0,
      grants: [],
    });
    expect((await jsonReport(DAY, { action: 'db.*' })).summary.grants.grants).toEqual([]);
    expect((await jsonReport(DAY, { action: 'mcp.files.*' })).summary.grants.issued).toBe(1);
  });
});
