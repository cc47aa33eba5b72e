// Evidence mapped to controls (`audit report --controls`): three periods of one database, seeded
// through the real use cases. In the first every control of every framework is `met`; in the
// second each turns `attention` for the reason it names (a self-approval attempt, an execution of
// another digest, a decision from a deprovisioned approver, a second policy, a broken chain); the
// third holds nothing, so every control says `no evidence in period`.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordExecution } from '../../apps/server/src/approvals/record-execution.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { recordPolicyLoaded } from '../../apps/server/src/approvals/policy/record-policy-loaded.ts';
import { createCheckpoint } from '../../apps/server/src/audit/create-checkpoint.ts';
import {
  CONTROL_FRAMEWORKS,
  parseControlMapping,
  shippedControlMapping,
  type ControlsSection,
} from '../../apps/server/src/audit/report/controls.ts';
import { generateReport, type ReportFormat } from '../../apps/server/src/audit/report/generate-report.ts';
import type { ReportPeriod } from '../../apps/server/src/audit/report/report-period.ts';
import { systemClock, type Deps } from '../../apps/server/src/deps.ts';
import { createUser } from '../../apps/server/src/directory/scim-user-store.ts';
import { expectProblem } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, runCli } from '../support/cli.ts';
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

const POLICY = `
groups:
  ops: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - { name: ops, actions: ['*'], approvers: [group:ops], expiresIn: 1h }
`;
const CHANGED_POLICY = `
groups:
  ops: [alice@example.com, bob@example.com, carol@example.com, mallory@example.com]
rules:
  - { name: ops, actions: ['*'], approvers: [group:ops], expiresIn: 1h }
`;

const REQUIRED: Record<(typeof CONTROL_FRAMEWORKS)[number], string[]> = {
  soc2: ['CC6.1', 'CC6.2', 'CC6.3', 'CC7.2', 'CC8.1'],
  iso27001: ['A.5.15', 'A.5.18', 'A.8.2', 'A.8.15', 'A.8.32'],
  nist80053: ['AC-2', 'AC-5', 'AC-6', 'AU-2', 'AU-9', 'AU-10', 'CM-3', 'CM-5'],
};

let m: MigratedDatabase;
let deps: Deps;
let metPeriod: ReportPeriod;
let attentionPeriod: ReportPeriod;
const emptyPeriod: ReportPeriod = {
  from: new Date('2099-01-01T00:00:00Z'),
  to: new Date('2099-01-02T00:00:00Z'),
};

/** A boundary strictly after every event written so far (waits out the current millisecond). */
function boundary(): Date {
  const at = Date.now() + 1;
  while (Date.now() < at) {
    // the clock has millisecond resolution: at most one millisecond of spinning
  }
  return new Date(at);
}

const decide = (requestId: string, email: string, verdict: 'approve' | 'deny' = 'approve') =>
  recordDecision(deps, { requestId, verdict, approver: approver(email) });

function scimUser(email: string, active: boolean) {
  return createUser(
    m.db,
    { userName: email, emails: [{ value: email, primary: true }], active },
    'scim:test',
  );
}

beforeAll(async () => {
  m = await openMigratedDatabase();
  deps = testDeps(m.db, { policy: policyFromYaml(POLICY), clock: systemClock });
  const clientId = await testClientId(m.db);
  const start = new Date(Date.now() - 1);

  // Met: one policy, a decision by someone other than the requester, the approved payload
  // executed, a person deprovisioned by SCIM whose attempt is refused, a signed checkpoint.
  await recordPolicyLoaded(m.db, policyFromYaml(POLICY), new Date());
  const approved = await createTestRequest(deps);
  await decide(approved.id, 'bob@example.com');
  await recordExecution(deps, clientId, {
    requestId: approved.id,
    payloadDigest: approved.payloadDigest,
    outcome: 'started',
  });
  await scimUser('carol@example.com', false);
  const other = await createTestRequest(deps);
  await expectAppError(decide(other.id, 'carol@example.com'), 'DEPROVISIONED');
  await createCheckpoint(deps, { actor: 'test' });
  const b1 = boundary();
  metPeriod = { from: start, to: b1 };

  // Attention: each control's reason.
  await recordPolicyLoaded(m.db, policyFromYaml(POLICY), new Date());
  await recordPolicyLoaded(m.db, policyFromYaml(CHANGED_POLICY), new Date());
  const selfish = await createTestRequest(deps);
  await expectAppError(decide(selfish.id, 'alice@example.com'), 'SELF_APPROVAL_FORBIDDEN');
  const swapped = await createTestRequest(deps);
  await decide(swapped.id, 'bob@example.com');
  await expectAppError(
    recordExecution(deps, clientId, {
      requestId: swapped.id,
      payloadDigest: `sha256:${'0'.repeat(64)}`,
      outcome: 'started',
    }),
    'PAYLOAD_DIGEST_MISMATCH',
  );
  // Bob is deactivated by SCIM, then turned back on by hand in SQL (no reactivation event): his
  // next decision is recorded, and the report must call it out.
  await scimUser('bob@example.com', false);
  await m.db.pool.query(`UPDATE directory_users SET active = true WHERE email = 'bob@example.com'`);
  const late = await createTestRequest(deps);
  await decide(late.id, 'bob@example.com', 'deny');
  // Tampering inside this period: the chain breaks after the met period's last event.
  await m.db.pool.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
  try {
    await m.db.pool.query(
      `UPDATE audit_events SET payload = payload || '{"reason":"edited"}'
        WHERE seq = (SELECT max(seq) FROM audit_events WHERE type = 'decision.recorded')`,
    );
  } finally {
    await m.db.pool.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
  }
  attentionPeriod = { from: b1, to: boundary() };
});

afterAll(async () => {
  await m?.close();
});

async function controlsOf(
  period: ReportPeriod,
  framework: (typeof CONTROL_FRAMEWORKS)[number],
  format: ReportFormat = 'json',
): Promise<{ section: ControlsSection; text: string }> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const result = await generateReport({
    db: m.db,
    period,
    format,
    controls: framework,
    out,
    actor: 'cli:test',
    now: () => new Date('2099-06-01T00:00:00Z'),
  });
  if (!result.controls) throw new Error('the report has no controls section');
  return { section: result.controls, text: Buffer.concat(chunks).toString('utf8') };
}

describe('the shipped control mapping', () => {
  it('names every control the frameworks require, each once', () => {
    const mapping = shippedControlMapping();
    for (const framework of CONTROL_FRAMEWORKS) {
      const ids = mapping.controls.filter((c) => c.framework === framework).map((c) => c.id);
      expect(ids).toEqual(expect.arrayContaining(REQUIRED[framework]));
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('refuses a mapping that names an unknown check or framework, with the path', () => {
    expect(() =>
      parseControlMapping(
        'frameworks: { soc2: SOC 2 }\ncontrols:\n  - { framework: soc2, id: X, title: T, checks: [vibes] }\n',
      ),
    ).toThrow(/controls\.0\.checks\.0/);
    expect(() =>
      parseControlMapping(
        'frameworks: { soc2: SOC 2 }\ncontrols:\n  - { framework: pci, id: X, title: T, checks: [events_logged] }\n',
      ),
    ).toThrow(/controls\.0\.framework/);
    expect(() => parseControlMapping('controls: [unclosed')).toThrow(/controls\.yaml is not valid YAML/);
    expect(
      parseControlMapping(
        'frameworks: { soc2: SOC 2 }\ncontrols:\n  - { framework: soc2, id: X, title: T, checks: [events_logged], notes: why }\n',
      ).controls[0]?.notes,
    ).toBe('why');
  });
});

describe.each(CONTROL_FRAMEWORKS)('--controls %s', (framework) => {
  it('a period with clean evidence: every control met, with its evidence', async () => {
    const { section } = await controlsOf(metPeriod, framework);
    expect(section.controls.map((c) => c.id)).toEqual(expect.arrayContaining(REQUIRED[framework]));
    for (const control of section.controls) {
      expect({ id: control.id, status: control.status, reasons: control.reasons }).toEqual({
        id: control.id,
        status: 'met',
        reasons: [],
      });
    }
    const evidence = section.controls.flatMap((c) => c.checks.flatMap((k) => k.evidence)).join('\n');
    expect(evidence).toContain('1 approved request(s) executed with the approved payload digest');
    expect(evidence).toContain('1 decision attempt(s) refused as deprovisioned');
    expect(evidence).toMatch(/latest signed checkpoint: seq \d+/);
    expect(evidence).toMatch(/chain verified intact through seq \d+/);
  });

  it('a period with problems: every control needs attention, and says why', async () => {
    const { section } = await controlsOf(attentionPeriod, framework);
    for (const control of section.controls) {
      expect(control.status, control.id).toBe('attention');
      expect(control.reasons.length, control.id).toBeGreaterThan(0);
    }
    const reasons = new Set(section.controls.flatMap((c) => c.reasons));
    const byCheck = (id: string) => section.controls.flatMap((c) => c.checks).find((k) => k.check === id);
    if (byCheck('separation_of_duties'))
      expect(reasons).toContain('1 attempt(s) by a requester to approve their own request (refused)');
    if (byCheck('changes_executed_as_approved'))
      expect(reasons).toContain(
        '1 execution attempt(s) with a payload digest other than the approved one (refused)',
      );
    if (byCheck('deprovisioning_honoured'))
      expect(reasons).toContain('1 decision(s) recorded from an approver deactivated or removed before it');
    if (byCheck('access_changes_recorded'))
      expect(reasons).toContain('2 different policy digests loaded in the period: review each change');
    expect([...reasons].some((r) => r.startsWith('the chain is not intact: seq'))).toBe(true);
  });

  it('an empty period: no evidence in period for every control', async () => {
    const { section } = await controlsOf(emptyPeriod, framework);
    expect(section.controls.length).toBeGreaterThanOrEqual(REQUIRED[framework].length);
    for (const control of section.controls) expect(control.status, control.id).toBe('no evidence in period');
  });
});

describe('the controls section in every format', () => {
  it('Markdown: a table of controls and a section per control with its evidence', async () => {
    const { text } = await controlsOf(attentionPeriod, 'nist80053', 'md');
    expect(text).toContain('## Controls: NIST SP 800-53 Rev. 5');
    expect(text).toContain('| AC-5 | Separation of duties | attention |');
    expect(text).toContain(
      '- Attention: 1 attempt\\(s\\) by a requester to approve their own request \\(refused\\)',
    );
    expect(text.indexOf('## Controls')).toBeLessThan(text.indexOf('## Requests'));
  });

  it('CSV: one comment line per control after the rows', async () => {
    const { text } = await controlsOf(metPeriod, 'soc2', 'csv');
    const lines = text.split('\r\n');
    expect(lines).toContain('# control soc2 CC8.1: met');
    expect(lines.filter((l) => l.startsWith('# control soc2 '))).toHaveLength(5);
  });

  it('JSON: the section next to the summary', async () => {
    const { text } = await controlsOf(emptyPeriod, 'iso27001', 'json');
    const parsed = JSON.parse(text) as { controls: ControlsSection };
    expect(parsed.controls.framework).toBe('iso27001');
    expect(parsed.controls.controls.map((c) => c.status)).toEqual(
      parsed.controls.controls.map(() => 'no evidence in period'),
    );
  });

  it('the CLI takes --controls and refuses a framework it does not know', async () => {
    const ok = await runCli(
      [
        'audit',
        'report',
        '--format',
        'md',
        '--controls',
        'soc2',
        '--from',
        metPeriod.from.toISOString(),
        '--to',
        metPeriod.to.toISOString(),
      ],
      cliEnv({ DATABASE_URL: m.database.url }),
    );
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(ok.stdout).toContain('## Controls: SOC 2');
    expect(ok.stdout).toContain('| CC6.1 |');
    const bad = await runCli(
      ['audit', 'report', '--controls', 'pci'],
      cliEnv({ DATABASE_URL: m.database.url }),
    );
    expect(bad.code, describeRun(bad)).not.toBe(0);
    expect(bad.stderr).toContain("argument 'pci' is invalid");
  });

  it('the API takes ?controls= and answers 422 for a framework it does not know, recording nothing', async () => {
    const t = await startTestServer();
    try {
      const auditor = await t.createKey('auditor', ['audit:read']);
      const json = await t.call<{ controls: ControlsSection }>(
        'GET',
        '/v1/audit/report?from=1d&format=json&controls=nist80053',
        { key: auditor.key },
      );
      expect(json.status).toBe(200);
      expect(json.body.controls.controls.map((c) => c.id)).toEqual(
        expect.arrayContaining(REQUIRED.nist80053),
      );
      const recorded = async () =>
        (
          await t.server.db.pool.query<{ payload: { controls?: unknown } }>(
            `SELECT payload FROM audit_events WHERE type = 'report.generated' ORDER BY seq`,
          )
        ).rows.map((r) => r.payload.controls);
      const runs = await recorded();
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ framework: 'nist80053' });
      expectProblem(
        await t.call('GET', '/v1/audit/report?format=json&controls=pci', { key: auditor.key }),
        'VALIDATION_FAILED',
      );
      expect(await recorded()).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
