// Exactly one verdict (spec §3.5): 50 concurrent clicks on one request, from several connection
// pools in this process and from separate OS processes, end in one terminal state, one decision
// per person, one verdict event and an intact audit chain.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { fireClicks, type ClickOutcome, type WorkerJob } from '../support/decision-worker.ts';
import { usingRealPostgres } from '../support/test-database.ts';
import {
  auditEvents,
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  storedRequest,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const WORKER = fileURLToPath(new URL('../support/decision-worker.ts', import.meta.url));
const APPROVERS = ['bob', 'carol', 'dave', 'erin', 'frank'].map((n) => `${n}@example.com`);
const POLICY = `
groups: { ops: [${APPROVERS.join(', ')}] }
rules: [{ name: pair, actions: ['*'], approvers: [group:ops], quorum: 2 }]
`;
type Mode = 'all approve' | 'mixed approve/deny';

/** 50 clicks: each approver 10 times, in varying case; in mixed mode every fourth click denies. */
function fiftyClicks(mode: Mode): WorkerJob['clicks'] {
  return Array.from({ length: 50 }, (_, i) => {
    const email = APPROVERS[i % APPROVERS.length] ?? '';
    return {
      email: i % 3 === 0 ? email.toUpperCase() : i % 3 === 1 ? ` ${email}` : email,
      verdict: mode === 'mixed approve/deny' && i % 4 === 3 ? 'deny' : 'approve',
    };
  });
}

const spread = <T>(items: T[], parts: number): T[][] =>
  Array.from({ length: parts }, (_, p) => items.filter((_, i) => i % parts === p));

describe.skipIf(!usingRealPostgres)(
  'exactly one verdict under concurrency (real Postgres only: PGlite is single-threaded, its connections never race)',
  () => {
    let m: MigratedDatabase;
    let deps: Deps;
    let pools: Database[] = [];
    const children = new Set<ChildProcess>();
    beforeAll(async () => {
      m = await openMigratedDatabase();
      deps = testDeps(m.db, { policy: policyFromYaml(POLICY) });
      pools = Array.from({ length: 4 }, () => createDatabase(m.database.url, { maxConnections: 5 }));
    });
    afterEach(() => {
      for (const child of children) child.kill('SIGKILL');
    });
    afterAll(async () => {
      await Promise.all(pools.map((db) => db.close()));
      await m?.close();
    });

    async function expectOneVerdict(requestId: string, outcomes: ClickOutcome[], mode: Mode): Promise<void> {
      expect(outcomes).toHaveLength(50);
      expect(outcomes.filter((o) => o.kind === 'failed')).toEqual([]);
      const refused = outcomes.filter((o) => o.kind === 'refused');
      expect(new Set(refused.map((o) => o.code))).toEqual(new Set(refused.length ? ['ALREADY_DECIDED'] : []));

      const request = await storedRequest(m.db, requestId);
      expect(['approved', 'denied']).toContain(request.status);
      if (mode === 'all approve') expect(request.status).toBe('approved');
      const verdicts = outcomes.flatMap((o) => (o.kind === 'recorded' && o.verdict ? [o.verdict] : []));
      expect(verdicts).toEqual([request.status]);

      const emails = request.decisions.map((d) => d.approverEmail);
      expect(new Set(emails).size).toBe(emails.length);
      const recorded = outcomes.filter((o) => o.kind === 'recorded').map((o) => o.email.trim().toLowerCase());
      expect(recorded.sort()).toEqual([...emails].sort());
      const approvals = request.decisions.filter((d) => d.verdict === 'approve').length;
      const denials = request.decisions.length - approvals;
      // quorum 2, denyQuorum 1: the verdict is reached by the 2nd approval or the 1st deny, never later.
      if (request.status === 'approved') expect([approvals, denials]).toEqual([2, 0]);
      else expect([approvals <= 1, denials]).toEqual([true, 1]);

      const events = await auditEvents(m.db, requestId);
      const count = (type: string) => events.filter((e) => e.type === type).length;
      expect(count('request.created')).toBe(1);
      expect(count('decision.recorded')).toBe(request.decisions.length);
      expect(count('decision.refused')).toBe(refused.length);
      expect(count('request.approved') + count('request.denied')).toBe(1);
      expect(count(`request.${request.status}`)).toBe(1);
      expect(await verifyChain(m.db)).toMatchObject({ intact: true });
    }

    it.each<Mode>(['all approve', 'mixed approve/deny'])(
      '50 clicks over 4 pools at once: %s',
      async (mode) => {
        const request = await createTestRequest(deps);
        const batches = spread(fiftyClicks(mode), pools.length);
        const outcomes = await Promise.all(
          pools.map((db, p) => fireClicks(testDeps(db), request.id, batches[p] ?? [])),
        );
        await expectOneVerdict(request.id, outcomes.flat(), mode);
      },
    );

    function startWorker(job: WorkerJob) {
      const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(job)], {
        cwd: REPO_ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.add(child);
      let stdout = '';
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const closed = once(child, 'close').then(([code]) => {
        children.delete(child);
        return code as number | null;
      });
      const ready = new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.startsWith('ready\n')) resolve();
        });
        void closed.then((code) => reject(new Error(`worker exited (${code}) before ready:\n${stderr}`)));
      });
      const outcomes = async (): Promise<ClickOutcome[]> => {
        const code = await closed;
        expect(code, `worker failed:\n${stdout}\n${stderr}`).toBe(0);
        return JSON.parse(stdout.slice('ready\n'.length)) as ClickOutcome[];
      };
      return { child, ready, outcomes };
    }

    it.each<Mode>(['all approve', 'mixed approve/deny'])(
      '50 clicks from two OS processes started together: %s',
      async (mode) => {
        const request = await createTestRequest(deps);
        const workers = spread(fiftyClicks(mode), 2).map((clicks) =>
          startWorker({ url: m.database.url, requestId: request.id, connections: 8, clicks }),
        );
        await Promise.all(workers.map((w) => w.ready));
        for (const w of workers) w.child.stdin.write('go\n');
        const outcomes = await Promise.all(workers.map((w) => w.outcomes()));
        expect(new Set(workers.map((w) => w.child.pid)).size).toBe(2);
        await expectOneVerdict(request.id, outcomes.flat(), mode);
      },
    );
  },
);
