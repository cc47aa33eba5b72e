// A report over a window verifies the chain from the last signed checkpoint at or before the
// window through the window's last event (and the link after it), not from seq 1; it says so,
// and tampering inside the window or between the checkpoint and the window is still caught.
// Every test rebuilds the same chain first:
//   day 1: request A created and approved (1–3), a signed checkpoint of seq 3 (4)
//   day 2: request B created (5)            (between the checkpoint and the window)
//   day 3: request C created and approved (6–8)   (the window: day 3)
//   day 4: request D created (9)            (after the window)
import { Writable } from 'node:stream';
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { createCheckpoint } from '../../apps/server/src/audit/create-checkpoint.ts';
import {
  generateReport,
  type GenerateReportInput,
} from '../../apps/server/src/audit/report/generate-report.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { SettableClock } from '../support/settable-clock.ts';
import { usingRealPostgres } from '../support/test-database.ts';
import {
  approver,
  createTestRequest,
  openMigratedDatabase,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

let m: MigratedDatabase;
let deps: Deps;
const clock = new SettableClock();
beforeAll(async () => {
  m = await openMigratedDatabase();
  deps = testDeps(m.db, { clock });
});
afterAll(async () => {
  await m?.close();
});

const sql = (text: string, params: unknown[] = []) => m.db.pool.query(text, params);

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

const day = (n: number, time = '10:00:00') => new Date(`2030-01-0${n}T${time}.000Z`);
const WINDOW = { from: day(3, '00:00:00'), to: day(4, '00:00:00') };

beforeEach(async () => {
  await tamper(async () => {
    await sql('TRUNCATE audit_events');
    await sql(`UPDATE audit_chain_head SET seq = 0, hash = repeat('0', 64)`);
  });
  await sql(
    'TRUNCATE decisions, callback_attempts, callback_deliveries, chat_cards, request_executions, break_glass_reviews, grants, approval_requests',
  );
  clock.set(day(1));
  const a = await createTestRequest(deps);
  await recordDecision(deps, { requestId: a.id, verdict: 'approve', approver: approver('bob@x.org') });
  clock.set(day(1, '11:00:00'));
  await createCheckpoint(deps, { actor: 'test' });
  clock.set(day(2));
  await createTestRequest(deps, { action: 'prod.deploy' });
  clock.set(day(3));
  const c = await createTestRequest(deps, { action: 'prod.drop' });
  await recordDecision(deps, { requestId: c.id, verdict: 'approve', approver: approver('carol@x.org') });
  clock.set(day(4));
  await createTestRequest(deps);
  clock.set(day(5));
  const { rows } = await sql('SELECT seq::text AS seq, type FROM audit_events ORDER BY seq');
  expect(rows.map((r: { seq: string; type: string }) => `${r.seq} ${r.type}`)).toEqual([
    '1 request.created',
    '2 decision.recorded',
    '3 request.approved',
    '4 audit.checkpoint',
    '5 request.created',
    '6 request.created',
    '7 decision.recorded',
    '8 request.approved',
    '9 request.created',
  ]);
});

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

async function report(options: Partial<GenerateReportInput> = {}) {
  const out = new Collect();
  const result = await generateReport({
    db: m.db,
    period: WINDOW,
    format: 'md',
    out,
    actor: 'cli:tester',
    now: () => clock.now(),
    checkpointKeys: deps.receipts.jwks(),
    ...options,
  });
  return { chain: result.summary.chain, rows: result.rows, text: out.text };
}

const hashOf = async (seq: number) =>
  ((await sql('SELECT hash FROM audit_events WHERE seq = $1', [seq])).rows[0] as { hash: string }).hash;

describe('a windowed report verifies from the last signed checkpoint before the window', () => {
  it('walks the checkpoint through the window and says what it verified', async () => {
    const { chain, rows, text } = await report();
    expect(rows).toBe(1);
    expect(chain.intact).toBe(true);
    // Events 4–8: the checkpoint, the event between it and the window, the window's three.
    expect(chain.verification).toEqual({
      intact: true,
      events: 5,
      firstSeq: '4',
      lastSeq: '8',
      lastHash: await hashOf(8),
    });
    expect(chain.scope).toEqual({
      checkpoint: {
        eventSeq: '4',
        seq: '3',
        hash: await hashOf(3),
        at: day(1, '11:00:00').toISOString(),
        kid: expect.any(String) as string,
      },
      throughSeq: '8',
      requests: 'period',
    });
    expect(text).toContain(
      `- Scope: verified from the signed checkpoint at seq 4 (signed ${day(1, '11:00:00').toISOString()} with key ${chain.scope.checkpoint?.kid}; it vouches for events up to 3) through seq 8 and the link after it; rows of the period's requests checked against the chain`,
    );
  });

  it('catches an event changed inside the window', async () => {
    await tamper(() => sql(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 7`));
    const { chain } = await report();
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, firstBadSeq: '7', problem: 'hash_mismatch' });
  });

  it('catches an event changed between the checkpoint and the window', async () => {
    await tamper(() => sql(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 5`));
    const { chain } = await report();
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, firstBadSeq: '5', problem: 'hash_mismatch' });
  });

  it('catches the checkpoint event itself changed', async () => {
    await tamper(() => sql(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 4`));
    const { chain } = await report();
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, firstBadSeq: '4' });
  });

  it('catches the signed event rewritten with a recomputed hash (the chain before the checkpoint rewritten)', async () => {
    await tamper(() => sql(`UPDATE audit_events SET hash = repeat('a', 64) WHERE seq = 3`));
    const { chain } = await report();
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, firstBadSeq: '3', problem: 'hash_mismatch' });
  });

  it("catches the window's last event removed, at the seam to the next one", async () => {
    await tamper(() => sql('DELETE FROM audit_events WHERE seq = 8'));
    const { chain } = await report();
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, firstBadSeq: '8', problem: 'sequence_gap' });
  });

  it("catches the window's last events removed from the end of the chain, at the head", async () => {
    await tamper(() => sql('DELETE FROM audit_events WHERE seq >= 8'));
    const { chain } = await report();
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, firstBadSeq: '8', problem: 'head_mismatch' });
  });

  it('catches a request row of the period changed outside the service', async () => {
    await sql(`UPDATE approval_requests SET action = 'prod.nothing' WHERE action = 'prod.drop'`);
    const { chain } = await report();
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, problem: 'request_mismatch' });
  });

  it('does not re-hash events before the checkpoint: that is what audit verify (and the checkpoint export) are for', async () => {
    await tamper(() => sql(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 2`));
    const { chain, text } = await report();
    expect(chain.intact).toBe(true);
    expect(text).toContain('verified from the signed checkpoint at seq 4');
    expect(await verifyChain(m.db)).toMatchObject({ intact: false, firstBadSeq: '2' });
  });
});

describe('without a usable checkpoint the report verifies the whole chain', () => {
  it('without the receipt keys', async () => {
    await tamper(() => sql(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 2`));
    const { chain, text } = await report({ checkpointKeys: undefined });
    expect(chain.scope).toEqual({
      checkpoint: null,
      fullBecause: 'no receipt key to check a checkpoint with',
      throughSeq: null,
      requests: 'all',
    });
    expect(chain.intact).toBe(false);
    expect(chain.verification).toMatchObject({ intact: false, firstBadSeq: '2' });
    expect(text).toContain('verified from seq 1 through the chain head (no receipt key');
  });

  it('when the checkpoint does not verify against the receipt keys', async () => {
    const other = generateKeyPairSync('ed25519').publicKey;
    const jwk = { ...(await exportJWK(other)), kid: 'someone-else', alg: 'EdDSA', use: 'sig' };
    const { chain } = await report({ checkpointKeys: { keys: [jwk] } });
    expect(chain.scope.checkpoint).toBeNull();
    expect(chain.scope.fullBecause).toMatch(
      /^the checkpoint at seq 4 does not verify against the receipt key/,
    );
    expect(chain.verification).toMatchObject({ intact: true, firstSeq: '1', events: 9 });
  });

  it('when no checkpoint comes before the window', async () => {
    const { chain } = await report({ period: { from: day(1, '00:00:00'), to: day(2, '00:00:00') } });
    expect(chain.scope).toMatchObject({
      checkpoint: null,
      fullBecause: 'no signed checkpoint at or before the period',
    });
    expect(chain.verification).toMatchObject({ intact: true, firstSeq: '1', events: 9 });
  });
});

describe.skipIf(!usingRealPostgres)('on a second snapshot connection while rows are written', () => {
  it('finds what the one-connection report finds, intact or not', async () => {
    const serial = await report();
    const parallel = await report({ separateSessions: true });
    expect(parallel.chain.verification).toEqual(serial.chain.verification);
    expect(parallel.chain.scope).toEqual(serial.chain.scope);
    await tamper(() => sql(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 6`));
    const tampered = await report({ separateSessions: true });
    expect(tampered.chain.verification).toMatchObject({ intact: false, firstBadSeq: '6' });
    const full = await report({ separateSessions: true, checkpointKeys: undefined });
    expect(full.chain.verification).toEqual((await report({ checkpointKeys: undefined })).chain.verification);
  });
});
