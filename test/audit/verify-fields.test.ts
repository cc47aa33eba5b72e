// `countersign audit verify` holds every field of a request row that a reviewer or executor
// relies on to its request.created event: each rewritten in SQL (as a database login could) makes
// verify exit 1 naming the field; put back, verify is intact again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { usingRealPostgres } from '../support/test-database.ts';
import {
  approver,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const POLICY = policyFromYaml(`groups:
  reviewers: [bob@x.org, carol@x.org]
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:reviewers]
`);

/** Each field, the column it is stored in, and a rewrite of it. */
const REWRITES: [field: string, set: string][] = [
  ['action', `action = 'db.drop.everything'`],
  ['payloadDigest', `payload_digest = 'sha256:' || repeat('e', 64)`],
  ['requester', `requester_email = 'mallory@x.org'`],
  ['approvers', `approvers = '{mallory@x.org}'`],
  ['anyApprover', `any_approver = true`],
  ['quorum', `quorum = 0`],
  ['context', `context = '{"table":"payments"}'`],
  ['title', `title = 'Harmless read'`],
  ['reason', `reason = 'routine'`],
  ['agent', `agent = '{"name":"trusted-bot","model":"other"}'`],
  ['requesterName', `requester_name = 'Someone Else'`],
  ['status', `status = 'denied'`],
];

let m: MigratedDatabase;
let pendingId: string;
let approvedId: string;

const sql = (text: string, params: unknown[] = []) => m.db.pool.query(text, params);

async function verify(): Promise<{ code: number | null; stdout: string; text: string }> {
  const result = await runCli(['audit', 'verify'], cliEnv({ DATABASE_URL: m.database.url }));
  return { code: result.code, stdout: result.stdout, text: describeRun(result) };
}

beforeAll(async () => {
  m = await openMigratedDatabase();
  const deps = testDeps(m.db, { policy: POLICY });
  const input = {
    title: 'Export users',
    reason: 'quarterly report',
    requester: { email: 'alice@x.org', name: 'Alice' },
    agent: { name: 'report-bot', model: 'model-1', runId: 'run-7' },
    context: { table: 'users' },
  };
  pendingId = (await createTestRequest(deps, input)).id;
  approvedId = (await createTestRequest(deps, input)).id;
  await recordDecision(deps, { requestId: approvedId, verdict: 'approve', approver: approver('bob@x.org') });
});
afterAll(async () => {
  await killRunningClis();
  await m?.close();
});

describe.skipIf(!usingRealPostgres)(
  'audit verify against rewritten request rows',
  { timeout: 120_000 },
  () => {
    it('is intact before any rewrite; the command exits 1 naming a rewritten field', async () => {
      const intact = await verify();
      expect(intact.code, intact.text).toBe(0);
      await sql(`UPDATE approval_requests SET title = 'Harmless read' WHERE id = $1`, [approvedId]);
      try {
        const result = await verify();
        expect(result.code, result.text).toBe(1);
        expect(result.stdout).toMatch(new RegExp(`${approvedId}: its title in approval_requests differs`));
      } finally {
        await sql(`UPDATE approval_requests SET title = 'Export users' WHERE id = $1`, [approvedId]);
      }
    });

    it.each(REWRITES)(
      'names %s when it is rewritten, and is intact once it is put back',
      async (field, set) => {
        const id = field === 'status' ? pendingId : approvedId;
        const { rows } = await sql('SELECT * FROM approval_requests WHERE id = $1', [id]);
        const before = rows[0] as Record<string, unknown>;
        await sql(`UPDATE approval_requests SET ${set} WHERE id = $1`, [id]);
        try {
          // What the command runs (it exits 1 on this answer: the test above).
          const result = await verifyChain(m.db);
          expect(result).toMatchObject({ intact: false, problem: 'request_mismatch', requestId: id });
          expect(result.intact ? '' : result.detail).toMatch(new RegExp(`${id}: its (\\w+, )*${field}\\b`));
        } finally {
          const columns = Object.keys(before).filter((column) => column !== 'id');
          await sql(
            `UPDATE approval_requests SET ${columns.map((c, i) => `"${c}" = $${i + 2}`).join(', ')} WHERE id = $1`,
            [id, ...columns.map((c) => before[c])],
          );
        }
        expect(await verifyChain(m.db)).toMatchObject({ intact: true });
      },
    );
  },
);
