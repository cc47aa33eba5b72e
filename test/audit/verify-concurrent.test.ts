// Verifying while events are appended: the chain and its head are read in one snapshot, so appends
// that commit in between never look like tampering (a head "past the end of the chain").
import { inTransaction } from '../../apps/server/src/db/transaction.ts';
import { expect, it } from 'vitest';
import { appendAuditEvent } from '../../apps/server/src/audit/append-event.ts';
import { verifyChain, type VerifyResult } from '../../apps/server/src/audit/verify-chain.ts';
import { openMigratedDatabase } from '../support/use-case-fixtures.ts';

const VERIFICATIONS = 60;

it('reports intact on every run while events are appended concurrently', async () => {
  const m = await openMigratedDatabase();
  try {
    let appending = true;
    let appended = 0;
    const appender = (async () => {
      while (appending) {
        await inTransaction(m.db, (tx) =>
          appendAuditEvent(
            tx,
            {
              type: 'report.generated',
              actor: 'cli:test',
              payload: {
                from: '2030-01-01T00:00:00.000Z',
                to: '2030-01-02T00:00:00.000Z',
                format: 'csv',
                filters: { action: null, requester: null },
                rows: appended,
                chainIntact: true,
              },
            },
            new Date(),
          ),
        );
        appended += 1;
      }
    })();
    const results: VerifyResult[] = [];
    try {
      for (let i = 0; i < VERIFICATIONS; i += 1) results.push(await verifyChain(m.db));
    } finally {
      appending = false;
      await appender;
    }
    expect(appended).toBeGreaterThan(0);
    expect(results.filter((r) => !r.intact)).toEqual([]);
    expect(await verifyChain(m.db)).toMatchObject({ intact: true, events: appended });
  } finally {
    await m.close();
  }
});
