// The chain walked on worker threads, in chunks stitched at their seams, gives exactly the serial
// verifier's answer: intact with the same counts and last hash, and the same first bad seq,
// problem and detail whether the tampering sits at a seam or inside a chunk.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { verifyChain, type VerifyOptions } from '../../apps/server/src/audit/verify-chain.ts';
import {
  approver,
  createTestRequest,
  openMigratedDatabase,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

let m: MigratedDatabase;
const sql = (text: string, params: unknown[] = []) => m.db.pool.query(text, params);

// Chunks of 4: seams between 4|5, 8|9, 12|13, …
const PARALLEL: VerifyOptions = {
  workers: 2,
  chunkEvents: 4,
  onSerialFallback: (reason) => {
    throw new Error(`the walk did not run on workers: ${reason}`);
  },
};

beforeAll(async () => {
  m = await openMigratedDatabase();
});
afterAll(async () => {
  await m?.close();
});

/** Runs `work` with the append-only triggers off, as a superuser could; they are back on afterwards. */
async function tamper(work: () => Promise<unknown>): Promise<void> {
  await sql('ALTER TABLE audit_events DISABLE TRIGGER USER');
  await sql('ALTER TABLE audit_chain_head DISABLE TRIGGER USER');
  try {
    await work();
  } finally {
    await sql('ALTER TABLE audit_events ENABLE TRIGGER USER');
    await sql('ALTER TABLE audit_chain_head ENABLE TRIGGER USER');
  }
}

beforeEach(async () => {
  await tamper(async () => {
    await sql('TRUNCATE audit_events');
    await sql(`UPDATE audit_chain_head SET seq = 0, hash = repeat('0', 64)`);
  });
  await sql(
    'TRUNCATE decisions, callback_attempts, callback_deliveries, chat_cards, request_executions, break_glass_reviews, grants, approval_requests',
  );
  const deps = testDeps(m.db);
  for (let i = 0; i < 8; i++) {
    const request = await createTestRequest(deps);
    await recordDecision(deps, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('bob@x.org'),
    });
  }
});

describe('verify on worker threads', () => {
  it('says intact with the serial counts and last hash', async () => {
    const serial = await verifyChain(m.db);
    expect(serial).toMatchObject({ intact: true, events: 24, lastSeq: '24' });
    expect(await verifyChain(m.db, PARALLEL)).toEqual(serial);
  });

  it.each([
    [
      'an event changed inside a chunk',
      `UPDATE audit_events SET actor = 'mallory' WHERE seq = 6`,
      '6',
      'hash_mismatch',
    ],
    [
      'the first event of a chunk changed (at a seam)',
      `UPDATE audit_events SET actor = 'mallory' WHERE seq = 9`,
      '9',
      'hash_mismatch',
    ],
    [
      'a link broken at a seam',
      `UPDATE audit_events SET prev_hash = repeat('b', 64) WHERE seq = 9`,
      '9',
      'broken_link',
    ],
    [
      'a link broken inside a chunk',
      `UPDATE audit_events SET prev_hash = repeat('b', 64) WHERE seq = 10`,
      '10',
      'broken_link',
    ],
    [
      'the last event of a chunk removed (at a seam)',
      'DELETE FROM audit_events WHERE seq = 8',
      '9',
      'sequence_gap',
    ],
    [
      'the last event of a chunk given another hash',
      `UPDATE audit_events SET hash = repeat('c', 64) WHERE seq = 8`,
      '8',
      'hash_mismatch',
    ],
    ['the first event removed', 'DELETE FROM audit_events WHERE seq = 1', '2', 'sequence_gap'],
    ['a signature removed', 'UPDATE audit_events SET signature = NULL WHERE seq = 13', '13', 'bad_signature'],
    [
      'two events changed in different chunks',
      `UPDATE audit_events SET actor = 'mallory' WHERE seq IN (7, 18)`,
      '7',
      'hash_mismatch',
    ],
  ])('finds what the serial walk finds: %s', async (_what, statement, firstBadSeq, problem) => {
    await tamper(() => sql(statement));
    const serial = await verifyChain(m.db);
    expect(serial).toMatchObject({ intact: false, firstBadSeq, problem });
    expect(await verifyChain(m.db, PARALLEL)).toEqual(serial);
  });
});
