// The growth benchmark's seeded history is what the service itself would have written: the chain
// is intact, each request row agrees with its chain (so a list signs receipts), and the 6-hour
// report verifies from the signed checkpoint the seed placed at the hourly tick before the window,
// not from seq 1.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRequestViews } from '../../apps/server/src/approvals/store/request-view-store.ts';
import { requestRowMismatches } from '../../apps/server/src/audit/request-chain.ts';
import { generateReport } from '../../apps/server/src/audit/report/generate-report.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { loadReceiptPublicKeys } from '../../apps/server/src/receipts/load-receipt-public-keys.ts';
import {
  growthCheckpoint,
  growthEnd,
  REPORT_WINDOW_MS,
  seedGrowthHistory,
} from '../../bench/lib/growth-history.ts';
import {
  createMigratedTestDatabase,
  usingRealPostgres,
  type TestDatabase,
} from '../support/test-database.ts';

// 3,000 requests 10 s apart: 8 h 20 min, the window from 2 h 20 min, the checkpoint's tick at 2 h.
const EVENTS = 12_000;

describe.skipIf(!usingRealPostgres)('the growth seed', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let db: Database;
  let checkpointSeq: string | null;

  beforeAll(async () => {
    database = await createMigratedTestDatabase();
    ({ checkpointSeq } = await seedGrowthHistory(database.url, EVENTS));
    db = createDatabase(database.url, { maxConnections: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('places the checkpoint at the last hourly tick before the window, after the requests complete by then', () => {
    expect(growthCheckpoint(EVENTS)).toEqual({
      at: new Date('2025-01-01T02:00:00.000Z'),
      requestsBefore: 703,
    });
    // The window of 10k events starts within the first hour: no tick with events before it.
    expect(growthCheckpoint(10_000)).toBeNull();
    expect(growthCheckpoint(1_000_000)?.at.getTime()).toBeLessThanOrEqual(
      growthEnd(1_000_000).getTime() - REPORT_WINDOW_MS,
    );
  });

  it('seeds an intact chain whose request rows agree with it', async () => {
    expect(await verifyChain(db)).toMatchObject({ intact: true });
    const { rows } = await db.pool.query<{ id: string }>(
      'SELECT id FROM approval_requests ORDER BY created_at DESC LIMIT 10',
    );
    const views = await readRequestViews(
      db,
      rows.map((row) => row.id),
    );
    expect(views).toHaveLength(10);
    for (const view of views) {
      if (!view.chain.found) throw new Error(view.chain.reason);
      expect(requestRowMismatches(view.request, view.chain.chain)).toEqual([]);
    }
  });

  it('has the 6-hour report verify from the signed checkpoint', async () => {
    const to = growthEnd(EVENTS);
    const out = new Writable({ write: (_chunk, _encoding, done) => done() });
    const { rows, summary } = await generateReport({
      db,
      period: { from: new Date(to.getTime() - REPORT_WINDOW_MS), to },
      format: 'csv',
      out,
      actor: 'cli:tester',
      now: () => new Date(),
      checkpointKeys: await loadReceiptPublicKeys(undefined, db),
    });
    expect(rows).toBe(2_160);
    expect(checkpointSeq).toBe(String(703 * 4 + 2)); // after the key's event and 703 requests
    expect(summary.chain.intact).toBe(true);
    expect(summary.chain.scope.checkpoint).toMatchObject({
      eventSeq: checkpointSeq,
      at: '2025-01-01T02:00:00.000Z',
    });
    expect(summary.chain.verification).toMatchObject({ intact: true, firstSeq: checkpointSeq });
  });
});
