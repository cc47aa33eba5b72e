// The decide benchmark's baseline: recordDecision called directly in this process, 200 calls at
// once, on a fresh database with the same policy, cards and callback URLs (so each call does the
// same writes: decision, verdict, card bump, delivery row and its job), without HTTP, Slack or
// job workers.
import { createRequest } from '../apps/server/src/approvals/create-request.ts';
import { parsePolicy } from '../apps/server/src/approvals/policy/load-policy.ts';
import { recordDecision } from '../apps/server/src/approvals/record-decision.ts';
import { createDatabase } from '../apps/server/src/db/client.ts';
import { parseAllowList, systemLookup } from '../apps/server/src/approvals/outbox/url-guard.ts';
import { systemClock, type Deps } from '../apps/server/src/deps.ts';
import { isAppError } from '../apps/server/src/errors.ts';
import { createJobQueue } from '../apps/server/src/jobs/job-queue.ts';
import { createApiKey } from '../apps/server/src/keys/create-api-key.ts';
import { createLogger } from '../apps/server/src/observability/logger.ts';
import { generateReceiptKey } from '../apps/server/src/receipts/receipt-key.ts';
import { createReceiptSigner } from '../apps/server/src/receipts/sign-receipt.ts';
import { registerEventKey } from '../apps/server/src/audit/chain-store.ts';
import { createEventSigner } from '../apps/server/src/audit/event-key.ts';
import { createBenchDatabase } from './bench-database.ts';
import { countStatements } from '../test/support/count-statements.ts';
import { median } from './lib/bench-row.ts';
import {
  APPROVER_COUNT,
  approverEmail,
  approverUserId,
  benchPolicyYaml,
  QUORUM_ACTION,
  readIntegrity,
  REQUESTER,
  SINGLE_ACTION,
  type Integrity,
} from './decide-setup.ts';

export interface DirectScenario {
  /** Per-call latency of every call of the median round (by p99), ms. */
  latencyMs: number[];
  /** Calls per second over the round's wall time (median of rounds). */
  perSecond: number;
}

export interface DirectFigures {
  single: DirectScenario;
  quorum: DirectScenario;
  /** CPU time of this process per call over the single-request bursts (median round), ms. */
  cpuMsPerCall: number;
  /** Statements sent per call over the single-request bursts (median round). */
  statementsPerCall: number;
  integrity: Integrity[];
}

interface Burst {
  latencyMs: number[];
  perSecond: number;
}

async function burst(deps: Deps, requestIds: string[]): Promise<Burst> {
  const started = performance.now();
  const latencyMs = await Promise.all(
    requestIds.map(async (requestId, i) => {
      const at = performance.now();
      try {
        await recordDecision(deps, {
          requestId,
          verdict: 'approve',
          approver: { email: approverEmail(i), platform: 'slack', platformUserId: approverUserId(i) },
        });
      } catch (error) {
        if (!isAppError(error) || error.code !== 'ALREADY_DECIDED') throw error;
      }
      return performance.now() - at;
    }),
  );
  return { latencyMs, perSecond: requestIds.length / ((performance.now() - started) / 1000) };
}

function medianRound(bursts: Burst[]): DirectScenario {
  const byP99 = [...bursts].sort((a, b) => Math.max(...a.latencyMs) - Math.max(...b.latencyMs));
  return {
    latencyMs: (byP99[Math.floor(byP99.length / 2)] as Burst).latencyMs,
    perSecond: median(bursts.map((b) => b.perSecond)),
  };
}

export async function directBaseline(rounds: number): Promise<DirectFigures> {
  const bench = await createBenchDatabase();
  const db = createDatabase(bench.url);
  const log = createLogger('silent');
  const jobs = createJobQueue({
    url: bench.url,
    log,
    pollingIntervalSeconds: 2,
    callbackRetry: { retryLimit: 14, retryDelaySeconds: 10, expireInSeconds: 70 },
  });
  try {
    await jobs.start();
    const eventKey = generateReceiptKey();
    await registerEventKey(db.pool, eventKey);
    const deps: Deps = {
      db,
      clock: systemClock,
      log,
      policy: parsePolicy(benchPolicyYaml(), 'decide benchmark'),
      jobs,
      chatPlatforms: new Set(['slack']),
      callbacks: { allow: parseAllowList('127.0.0.1'), lookupAll: systemLookup, timeoutMs: 10_000 },
      receipts: createReceiptSigner(generateReceiptKey()),
      events: createEventSigner(eventKey),
    };
    const created = await createApiKey(db, { name: 'bench direct' });
    const caller = { clientId: created.clientId, keyName: created.name, requesters: [], actions: [] };
    const create = async (action: string) =>
      (
        await createRequest(deps, caller, {
          action,
          requester: { email: REQUESTER },
          callbackUrl: 'http://127.0.0.1:9/never-delivered',
        })
      ).request.id;
    const singles: Burst[] = [];
    const quorums: Burst[] = [];
    const cpuMs: number[] = [];
    const statements: number[] = [];
    const counter = countStatements(db.pool);
    const integrity: Integrity[] = [];
    // One round more than measured: the first warms the pool and Prisma.
    for (let round = 0; round <= rounds; round += 1) {
      const ids: string[] = [];
      for (let i = 0; i < APPROVER_COUNT; i += 1) ids.push(await create(SINGLE_ACTION));
      const cpuBefore = process.cpuUsage();
      counter.start();
      const single = await burst(deps, ids);
      const sent = counter.stop().length;
      const cpu = process.cpuUsage(cpuBefore);
      cpuMs.push((cpu.user + cpu.system) / 1000 / ids.length);
      statements.push(sent / ids.length);
      const quorumId = await create(QUORUM_ACTION);
      const quorum = await burst(
        deps,
        Array.from({ length: APPROVER_COUNT }, () => quorumId),
      );
      if (round === 0) {
        cpuMs.length = 0;
        statements.length = 0;
        continue;
      }
      singles.push(single);
      quorums.push(quorum);
      integrity.push(await readIntegrity(bench.url, ids, APPROVER_COUNT));
      integrity.push(await readIntegrity(bench.url, [quorumId], APPROVER_COUNT));
    }
    return {
      single: medianRound(singles),
      quorum: medianRound(quorums),
      cpuMsPerCall: median(cpuMs),
      statementsPerCall: median(statements),
      integrity,
    };
  } finally {
    await jobs.stop(1000);
    await db.close();
    await bench.drop();
  }
}
