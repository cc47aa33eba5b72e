// A separate OS process that fires decisions at one request, for the multi-process concurrency
// test. Run with `node --import tsx test/support/decision-worker.ts` and a JSON job in argv[2].
// It connects and warms its own pool, prints "ready", waits for "go" on stdin (so every worker
// starts at the same moment), fires all clicks at once and prints one JSON line of outcomes.
import { createInterface } from 'node:readline';
import { BUILT_IN_POLICY } from '../../apps/server/src/approvals/policy/policy.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { createDatabase } from '../../apps/server/src/db/client.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { isAppError } from '../../apps/server/src/errors.ts';
import { generateReceiptKey } from '../../apps/server/src/receipts/receipt-key.ts';
import { testEventSigner } from './test-event-key.ts';
import { createReceiptSigner } from '../../apps/server/src/receipts/sign-receipt.ts';
import { silentLogger } from './logging.ts';
import { testCallbackSettings, testJobQueue } from './test-infrastructure.ts';

export interface WorkerJob {
  url: string;
  requestId: string;
  connections: number;
  clicks: { email: string; verdict: 'approve' | 'deny' }[];
}

export type ClickOutcome =
  | { kind: 'recorded'; email: string; verdict: 'approved' | 'denied' | null }
  | { kind: 'duplicate'; email: string }
  | { kind: 'refused'; email: string; code: string }
  | { kind: 'failed'; email: string; message: string };

export async function fireClicks(
  deps: Parameters<typeof recordDecision>[0],
  requestId: string,
  clicks: WorkerJob['clicks'],
): Promise<ClickOutcome[]> {
  return Promise.all(
    clicks.map(async ({ email, verdict }): Promise<ClickOutcome> => {
      try {
        const result = await recordDecision(deps, {
          requestId,
          verdict,
          approver: { email, platform: 'slack', platformUserId: `U-${email}`, displayName: email },
        });
        return result.recorded
          ? { kind: 'recorded', email, verdict: result.verdict }
          : { kind: 'duplicate', email };
      } catch (error) {
        if (isAppError(error)) return { kind: 'refused', email, code: error.code };
        return { kind: 'failed', email, message: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as WorkerJob;
  const db = createDatabase(job.url, { maxConnections: job.connections });
  try {
    // Open every connection now, so connection set-up does not stagger the clicks.
    const clients = await Promise.all(Array.from({ length: job.connections }, () => db.pool.connect()));
    for (const client of clients) client.release();
    await db.prisma.$queryRaw`SELECT 1`;
    const lines = createInterface({ input: process.stdin });
    const go = new Promise<void>((resolve) => lines.on('line', (line) => line.trim() === 'go' && resolve()));
    process.stdout.write('ready\n');
    await go;
    lines.close();
    const receipts = createReceiptSigner(generateReceiptKey());
    const deps = {
      db,
      clock: systemClock,
      log: silentLogger(),
      policy: BUILT_IN_POLICY,
      receipts,
      events: testEventSigner(),
      jobs: testJobQueue(db),
      chatPlatforms: new Set<string>(),
      callbacks: testCallbackSettings,
    };
    const outcomes = await fireClicks(deps, job.requestId, job.clicks);
    process.stdout.write(`${JSON.stringify(outcomes)}\n`);
  } finally {
    await db.close();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) await main();
