// The report shows, per decision, what made the approver eligible at that moment, as the chain
// recorded it: a policy group, an identity provider group (SCIM or the OIDC groups claim), a
// delegate taking someone's place, or the approver named on their own. Checked in JSON, CSV and Markdown through generateReport; a membership
// that SCIM removes after the decision does not change what the report says.
import { inTransaction } from '../../apps/server/src/db/transaction.ts';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDelegation } from '../../apps/server/src/approvals/delegation/delegations.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { generateReport, type ReportFormat } from '../../apps/server/src/audit/report/generate-report.ts';
import type { ReportPeriod } from '../../apps/server/src/audit/report/report-period.ts';
import type { ReportRow } from '../../apps/server/src/audit/report/report-rows.ts';
import { systemClock, type Deps } from '../../apps/server/src/deps.ts';
import { createGroup, patchGroupById } from '../../apps/server/src/directory/scim-group-store.ts';
import { createUser } from '../../apps/server/src/directory/scim-user-store.ts';
import { recordOidcGroups } from '../../apps/server/src/directory/oidc-group-claims.ts';
import {
  approver,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const POLICY = `
groups:
  ops: [bob@example.com, harry@example.com]
rules:
  - name: owners
    actions: [db.export]
    approvers: [group:ops, 'idp:Data Owners', gina@example.com]
    quorum: 5
`;

let m: MigratedDatabase;
let deps: Deps;
let period: ReportPeriod;
let requestId: string;

const decide = (email: string) =>
  recordDecision(deps, { requestId, verdict: 'approve', approver: approver(email) });

beforeAll(async () => {
  m = await openMigratedDatabase();
  deps = testDeps(m.db, { policy: policyFromYaml(POLICY), clock: systemClock });
  await deps.jobs.start();
  const start = new Date(Date.now() - 1);
  // Dana is in "Data Owners" through SCIM; erin only through her last OIDC sign-in's groups claim.
  const dana = await createUser(
    m.db,
    { userName: 'dana@example.com', emails: [{ value: 'dana@example.com', primary: true }], active: true },
    'scim:test',
  );
  const group = await createGroup(
    m.db,
    { displayName: 'Data Owners', members: [{ value: dana.id }] },
    'scim:test',
  );
  await inTransaction(m.db, (tx) => recordOidcGroups(tx, 'erin@example.com', ['Data Owners'], new Date()));
  // Frank decides in bob's place while bob is away.
  await addDelegation(deps, {
    from: 'bob@example.com',
    to: 'frank@example.com',
    until: new Date(Date.now() + 3_600_000),
    actor: 'cli',
  });
  requestId = (await createTestRequest(deps)).id;
  await decide('dana@example.com');
  await decide('erin@example.com');
  await decide('frank@example.com');
  await decide('gina@example.com');
  await decide('harry@example.com');
  // Leaving the group later does not rewrite what made dana eligible when she decided.
  await patchGroupById(
    m.db,
    group.id,
    [{ op: 'remove', path: `members[value eq "${dana.id}"]` }],
    'scim:test',
  );
  period = { from: start, to: new Date(Date.now() + 1_000) };
});

afterAll(async () => {
  await deps?.jobs.stop();
  await m?.close();
});

async function report(format: ReportFormat): Promise<string> {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  await generateReport({ db: m.db, period, format, out, actor: 'cli:tester', now: () => new Date() });
  return text;
}

describe('the report names the membership that made each approver eligible', () => {
  it('JSON: eligibleThrough on each approver', async () => {
    const parsed = JSON.parse(await report('json')) as { rows: ReportRow[] };
    const row = parsed.rows.find((r) => r.id === requestId);
    expect(row?.approvers.map((a) => [a.email, a.eligibleThrough])).toEqual([
      ['dana@example.com', 'idp:Data Owners (scim)'],
      ['erin@example.com', 'idp:Data Owners (oidc)'],
      ['frank@example.com', 'delegate for bob@example.com'],
      ['gina@example.com', 'named approver'],
      ['harry@example.com', 'group:ops'],
    ]);
  });

  it('CSV: the approvers_eligible_through column', async () => {
    const records = parse<Record<string, string>>(await report('csv'), {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    const row = records.find((r) => r['id'] === requestId);
    expect(row?.['approvers_eligible_through']).toBe(
      'dana@example.com: idp:Data Owners (scim); erin@example.com: idp:Data Owners (oidc); ' +
        'frank@example.com: delegate for bob@example.com; gina@example.com: named approver; ' +
        'harry@example.com: group:ops',
    );
  });

  it('Markdown: the "eligible through" column', async () => {
    const text = await report('md');
    expect(text).toContain('| approvers | eligible through |');
    const line = text.split('\n').find((l) => l.startsWith(`| ${requestId} |`));
    expect(line).toContain(
      '| dana@example.com: idp:Data Owners \\(scim\\); erin@example.com: idp:Data Owners \\(oidc\\); ' +
        'frank@example.com: delegate for bob@example.com; gina@example.com: named approver; ' +
        'harry@example.com: group:ops |',
    );
  });
});
