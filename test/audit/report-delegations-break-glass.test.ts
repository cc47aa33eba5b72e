// The report lists the period's delegations (created, used, removed, expired: who for whom, until,
// why, by whom) and its break-glass uses with where each review stands (acknowledged or flagged by
// whom and when, overdue, open), in JSON and Markdown, text escaped as in every other cell; a
// request's asked approvers include whoever its escalation added.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportRow } from '../../apps/server/src/audit/report/report-rows.ts';
import { createRequest } from '../../apps/server/src/approvals/create-request.ts';
import {
  addDelegation,
  recordDelegationExpiry,
  removeDelegation,
} from '../../apps/server/src/approvals/delegation/delegations.ts';
import {
  markReviewOverdue,
  reviewBreakGlass,
} from '../../apps/server/src/approvals/break-glass/review-break-glass.ts';
import { escalateRequest } from '../../apps/server/src/approvals/follow-up/escalate-request.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { generateReport, type ReportFormat } from '../../apps/server/src/audit/report/generate-report.ts';
import { parseReportPeriod } from '../../apps/server/src/audit/report/report-period.ts';
import type { ReportSummary } from '../../apps/server/src/audit/report/report-summary.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { SettableClock } from '../support/settable-clock.ts';
import {
  approver,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testClientId,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const POLICY = `
groups:
  security: [dave@example.com, erin@example.com]
rules:
  - name: prod-fix
    actions: ["prod.*"]
    approvers: [bob@example.com]
    breakGlass: { allowed: true, reviewWithin: 1h, reviewers: [group:security] }
  - name: escalated
    actions: ["iam.*"]
    approvers: [bob@example.com]
    escalate: { after: 30m, approvers: [erin@example.com] }
  - { name: everything, actions: ["*"], approvers: [bob@example.com] }
`;
const PERIOD = parseReportPeriod({ from: '2030-01-01', to: '2030-01-01' }, new Date());
const at = (hhmmss: string) => new Date(`2030-01-01T${hhmmss}.000Z`);
const HOSTILE = 'on leave | *see* <b>[link](http://evil.example)</b>';

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
const ids: Record<string, string> = {};

async function breakGlass(requester: string, reason: string): Promise<string> {
  const clientId = await testClientId(m.db);
  const caller = { clientId, keyName: 'pipeline', requesters: [], actions: [] };
  const { request } = await createRequest(deps, caller, {
    action: 'prod.restart',
    requester: { email: requester },
    breakGlass: reason,
  });
  return request.id;
}

beforeAll(async () => {
  m = await openMigratedDatabase();
  clock = new SettableClock(at('09:00:00'));
  deps = testDeps(m.db, { policy: policyFromYaml(POLICY), clock });
  await deps.jobs.start();

  const bob = await addDelegation(deps, {
    from: 'bob@example.com',
    to: 'carol@example.com',
    until: new Date('2030-01-05T00:00:00.000Z'),
    reason: HOSTILE,
    actor: 'bob@example.com',
  });
  ids['bob'] = bob.id;
  clock.set(at('09:05:00'));
  const request = await createTestRequest(deps, { action: 'db.export' });
  ids['delegated'] = request.id;
  await recordDecision(deps, {
    requestId: request.id,
    verdict: 'approve',
    approver: approver('carol@example.com'),
  });
  const dave = await addDelegation(deps, {
    from: 'dave@example.com',
    to: 'frank@example.com',
    until: new Date('2030-01-03T00:00:00.000Z'),
    actor: 'cli',
  });
  clock.set(at('09:10:00'));
  await removeDelegation(deps, dave.id, 'dave@example.com', 'dave@example.com');
  const erin = await addDelegation(deps, {
    from: 'erin@example.com',
    to: 'gina@example.com',
    until: at('10:00:00'),
    actor: 'client:ops',
  });

  clock.set(at('09:20:00'));
  ids['acknowledged'] = await breakGlass('alice@example.com', 'prod down, INC-1');
  ids['overdue'] = await breakGlass('alice@example.com', 'prod down, INC-2');
  ids['flaggedLate'] = await breakGlass('ivy@example.com', 'INC-3 | *urgent*');
  clock.set(at('09:30:00'));
  await reviewBreakGlass(deps, {
    requestId: ids['acknowledged'],
    reviewer: 'dave@example.com',
    outcome: 'acknowledged',
    note: 'right call',
  });
  clock.set(at('09:40:00'));
  ids['escalated'] = (await createTestRequest(deps, { action: 'iam.grant' })).id;
  ids['notEscalated'] = (await createTestRequest(deps, { action: 'iam.revoke' })).id;
  clock.set(at('10:10:00'));
  expect(await escalateRequest(deps, ids['escalated'])).toBe('escalated');
  clock.set(at('10:30:00'));
  await recordDelegationExpiry(deps, erin.id);
  await markReviewOverdue(deps, ids['overdue']);
  await markReviewOverdue(deps, ids['flaggedLate']);
  ids['open'] = await breakGlass('hal@example.com', 'INC-4');
  clock.set(at('11:00:00'));
  await reviewBreakGlass(deps, {
    requestId: ids['flaggedLate'],
    reviewer: 'erin@example.com',
    outcome: 'flagged',
  });
  ids['dave'] = dave.id;
  ids['erin'] = erin.id;
}, 120_000);

afterAll(async () => {
  await deps?.jobs.stop();
  await m?.close();
});

async function report(format: ReportFormat, filters = {}) {
  const out = new Collect();
  await generateReport({
    db: m.db,
    period: PERIOD,
    format,
    filters,
    out,
    actor: 'cli:tester',
    now: () => clock.now(),
  });
  return out.text;
}

describe('the report lists delegations and break-glass uses', () => {
  it('in JSON: every delegation event of the period, every use with its review', async () => {
    const json = JSON.parse(await report('json')) as { summary: ReportSummary };
    expect(json.summary.delegations.every((d) => /^\d+$/.test(d.seq))).toBe(true);
    expect(json.summary.delegations.map(({ seq: _seq, ...rest }) => rest)).toEqual([
      {
        at: '2030-01-01T09:00:00.000Z',
        event: 'created',
        from: 'bob@example.com',
        to: 'carol@example.com',
        until: '2030-01-05T00:00:00.000Z',
        reason: HOSTILE,
        actor: 'bob@example.com',
        requestId: null,
        verdict: null,
      },
      expect.objectContaining({
        at: '2030-01-01T09:05:00.000Z',
        event: 'used',
        from: 'bob@example.com',
        to: 'carol@example.com',
        until: null,
        actor: 'carol@example.com',
        requestId: ids['delegated'],
        verdict: 'approve',
      }),
      expect.objectContaining({
        event: 'created',
        from: 'dave@example.com',
        to: 'frank@example.com',
        actor: 'cli',
      }),
      expect.objectContaining({
        at: '2030-01-01T09:10:00.000Z',
        event: 'removed',
        from: 'dave@example.com',
        actor: 'dave@example.com',
      }),
      expect.objectContaining({ event: 'created', from: 'erin@example.com', to: 'gina@example.com' }),
      expect.objectContaining({
        at: '2030-01-01T10:30:00.000Z',
        event: 'expired',
        from: 'erin@example.com',
        until: '2030-01-01T10:00:00.000Z',
        actor: 'countersign',
      }),
    ]);
    expect(json.summary.breakGlass).toEqual([
      {
        requestId: ids['acknowledged'],
        at: '2030-01-01T09:20:00.000Z',
        action: 'prod.restart',
        requester: 'alice@example.com',
        reason: 'prod down, INC-1',
        reviewers: ['dave@example.com', 'erin@example.com'],
        reviewDueAt: '2030-01-01T10:20:00.000Z',
        review: 'acknowledged',
        reviewedBy: 'dave@example.com',
        reviewedAt: '2030-01-01T09:30:00.000Z',
        note: 'right call',
        overdueAt: null,
      },
      expect.objectContaining({
        requestId: ids['overdue'],
        review: 'overdue',
        reviewedBy: null,
        overdueAt: '2030-01-01T10:30:00.000Z',
      }),
      expect.objectContaining({
        requestId: ids['flaggedLate'],
        review: 'flagged',
        reviewedBy: 'erin@example.com',
        reviewedAt: '2030-01-01T11:00:00.000Z',
        overdueAt: '2030-01-01T10:30:00.000Z',
      }),
      expect.objectContaining({
        requestId: ids['open'],
        requester: 'hal@example.com',
        review: 'open',
        reviewDueAt: '2030-01-01T11:30:00.000Z',
        overdueAt: null,
      }),
    ]);
  });

  it('filters break-glass uses like the rows; delegations are the deployment’s and stay', async () => {
    const json = JSON.parse(await report('json', { requester: 'alice@example.com' })) as {
      summary: ReportSummary;
    };
    expect(json.summary.breakGlass.map((u) => u.requestId)).toEqual([ids['acknowledged'], ids['overdue']]);
    expect(json.summary.delegations).toHaveLength(6);
    const other = JSON.parse(await report('json', { action: 'db.*' })) as { summary: ReportSummary };
    expect(other.summary.breakGlass).toEqual([]);
  });

  it('in Markdown: a table each, every text cell escaped', async () => {
    const md = await report('md');
    const section = (title: string) => {
      const start = md.indexOf(`### ${title}`);
      expect(start, title).toBeGreaterThan(-1);
      const end = md.indexOf('\n#', start + 4);
      return md.slice(start, end === -1 ? undefined : end);
    };
    const delegations = section('Delegations');
    expect(delegations).toContain('| when | event | delegate | for | until | reason | by | request |');
    expect(delegations).toContain(
      '| 2030-01-01T09:00:00.000Z | created | carol@example.com | bob@example.com | 2030-01-05T00:00:00.000Z | ' +
        'on leave \\| \\*see\\* &lt;b&gt;\\[link\\]\\(http://evil.example\\)&lt;/b&gt; | bob@example.com |  |',
    );
    expect(delegations).toContain(
      `| used | carol@example.com | bob@example.com |  |  | carol@example.com | ${ids['delegated']} \\(approve\\) |`,
    );
    expect(delegations).toContain('| removed | frank@example.com | dave@example.com |');
    expect(delegations).toContain(
      '| expired | gina@example.com | erin@example.com | 2030-01-01T10:00:00.000Z |',
    );
    expect(delegations).not.toContain('<b>');

    const uses = section('Break-glass uses');
    expect(uses).toContain('| when | request | action | requester | reason | reviewers | review |');
    expect(uses).toContain(
      `| ${ids['acknowledged']} | prod.restart | alice@example.com | prod down, INC-1 | dave@example.com, erin@example.com | acknowledged by dave@example.com at 2030-01-01T09:30:00.000Z: right call |`,
    );
    expect(uses).toContain(`| ${ids['overdue']} | prod.restart | alice@example.com | prod down, INC-2 |`);
    expect(uses).toContain('| OVERDUE since 2030-01-01T10:30:00.000Z |');
    expect(uses).toContain(
      '| INC-3 \\| \\*urgent\\* | dave@example.com, erin@example.com | flagged by erin@example.com at 2030-01-01T11:00:00.000Z \\(overdue at 2030-01-01T10:30:00.000Z\\) |',
    );
    expect(uses).toContain('| open until 2030-01-01T11:30:00.000Z |');
  });

  it("lists an escalation's approvers among a request's asked approvers, in every format", async () => {
    const json = JSON.parse(await report('json')) as { rows: ReportRow[] };
    const asked = (id: string | undefined) => json.rows.find((r) => r.id === id)?.askedApprovers;
    expect(asked(ids['escalated'])).toEqual(['bob@example.com', 'erin@example.com']);
    expect(asked(ids['notEscalated'])).toEqual(['bob@example.com']);
    const csv = await report('csv');
    const line = csv.split('\r\n').find((l) => l.startsWith(ids['escalated'] ?? '-'));
    expect(line).toContain('bob@example.com; erin@example.com');
  });

  it('in CSV: one comment line each before the chain lines, commas as semicolons', async () => {
    const csv = await report('csv');
    const lines = csv.trimEnd().split('\r\n');
    const delegationLines = lines.filter((l) => l.startsWith('# delegation '));
    expect(delegationLines).toHaveLength(6);
    expect(delegationLines[0]).toBe(
      '# delegation 2030-01-01T09:00:00.000Z created: carol@example.com for bob@example.com until 2030-01-05T00:00:00.000Z by bob@example.com: ' +
        HOSTILE,
    );
    expect(delegationLines[1]).toBe(
      `# delegation 2030-01-01T09:05:00.000Z used: carol@example.com for bob@example.com on request ${ids['delegated']} (approve) by carol@example.com`,
    );
    const uses = lines.filter((l) => l.startsWith('# break-glass '));
    expect(uses).toEqual([
      `# break-glass 2030-01-01T09:20:00.000Z request ${ids['acknowledged']} prod.restart by alice@example.com: review acknowledged by dave@example.com at 2030-01-01T09:30:00.000Z (right call); reason: prod down; INC-1`,
      `# break-glass 2030-01-01T09:20:00.000Z request ${ids['overdue']} prod.restart by alice@example.com: review OVERDUE since 2030-01-01T10:30:00.000Z; reason: prod down; INC-2`,
      `# break-glass 2030-01-01T09:20:00.000Z request ${ids['flaggedLate']} prod.restart by ivy@example.com: review flagged by erin@example.com at 2030-01-01T11:00:00.000Z (overdue at 2030-01-01T10:30:00.000Z); reason: INC-3 | *urgent*`,
      `# break-glass 2030-01-01T10:30:00.000Z request ${ids['open']} prod.restart by hal@example.com: review open until 2030-01-01T11:30:00.000Z; reason: INC-4`,
    ]);
    expect(lines[lines.length - 1]).toMatch(/^# chain intact/);
    expect(lines.findIndex((l) => l.startsWith('# break-glass '))).toBeLessThan(
      lines.findIndex((l) => l.startsWith('# chain ')),
    );
  });

  it('says so when the period has neither', async () => {
    const out = new Collect();
    await generateReport({
      db: m.db,
      period: parseReportPeriod({ from: '2030-02-01', to: '2030-02-01' }, new Date()),
      format: 'md',
      out,
      actor: 'cli:tester',
      now: () => clock.now(),
    });
    expect(out.text).toContain('No delegation was created, used, removed or expired in the period.');
    expect(out.text).toContain('No break-glass use in the period.');
  });
});
