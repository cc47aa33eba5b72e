// Tamper evidence (spec §3.10): the database refuses to rewrite the audit log, and when a
// superuser switches that off, verifyChain names the first bad sequence number for each kind of
// tampering. Every test rebuilds the same chain of seven events (seq 1–7) first.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { chainHash } from '../../apps/server/src/audit/append-event.ts';
import { verifyChain, type ChainProblem } from '../../apps/server/src/audit/verify-chain.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import {
  approver,
  createTestRequest,
  expectAppError,
  openMigratedDatabase,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

interface ChainRow {
  seq: string;
  type: string;
  request_id: string | null;
  occurred_at: Date;
  prev_hash: string;
  hash: string;
}

let m: MigratedDatabase;
let deps: Deps;
let chain: ChainRow[];
beforeAll(async () => {
  m = await openMigratedDatabase();
  deps = testDeps(m.db);
});
afterAll(async () => {
  await m?.close();
});

const sql = (text: string, params: unknown[] = []) => m.db.pool.query(text, params);

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

const row = (seq: number): ChainRow => {
  const found = chain.find((r) => r.seq === String(seq));
  if (!found) throw new Error(`no event ${seq} in the chain`);
  return found;
};

beforeEach(async () => {
  await tamper(async () => {
    await sql('TRUNCATE audit_events');
    await sql(`UPDATE audit_chain_head SET seq = 0, hash = repeat('0', 64)`);
  });
  // The requests of earlier tests have no events left; verification checks requests against the chain.
  await sql(
    'TRUNCATE decisions, callback_attempts, callback_deliveries, chat_cards, request_executions, break_glass_reviews, grants, approval_requests',
  );
  const approved = await createTestRequest(deps); // 1 request.created
  await recordDecision(deps, { requestId: approved.id, verdict: 'approve', approver: approver('bob@x.org') }); // 2, 3
  const denied = await createTestRequest(deps, { action: 'prod.drop' }); // 4 request.created
  await expectAppError(
    recordDecision(deps, { requestId: denied.id, verdict: 'approve', approver: approver(null) }),
    'IDENTITY_UNRESOLVED',
  ); // 5 decision.refused
  await recordDecision(deps, {
    requestId: denied.id,
    verdict: 'deny',
    reason: 'no',
    approver: approver('carol@x.org'),
  }); // 6, 7
  chain = (
    await sql(
      'SELECT seq::text AS seq, type, request_id, occurred_at, prev_hash, hash FROM audit_events ORDER BY audit_events.seq',
    )
  ).rows as ChainRow[];
  expect(chain.map((r) => `${r.seq} ${r.type}`)).toEqual([
    '1 request.created',
    '2 decision.recorded',
    '3 request.approved',
    '4 request.created',
    '5 decision.refused',
    '6 decision.recorded',
    '7 request.denied',
  ]);
});

/** `events` is how many verified before the bad one: firstBadSeq - 1 unless events were removed. */
const expectBroken = async (firstBadSeq: number, problem: ChainProblem, events = firstBadSeq - 1) =>
  expect(await verifyChain(m.db)).toEqual({
    intact: false,
    events,
    firstBadSeq: String(firstBadSeq),
    problem,
    detail: expect.any(String) as string,
  });

describe('the database keeps the audit log append-only', () => {
  it.each([
    ['UPDATE', `UPDATE audit_events SET actor = 'mallory' WHERE seq = 2`],
    ['DELETE', 'DELETE FROM audit_events WHERE seq = 4'],
    ['TRUNCATE', 'TRUNCATE audit_events'],
  ])('refuses %s, even from a superuser', async (_op, statement) => {
    await expect(sql(statement)).rejects.toThrow(/append-only/);
    expect(await verifyChain(m.db)).toMatchObject({ intact: true, events: 7 });
  });
});

describe('verifyChain', () => {
  it('says intact, with the event count and the last hash, on an untouched chain', async () => {
    expect(await verifyChain(m.db)).toEqual({
      intact: true,
      events: 7,
      firstSeq: '1',
      lastSeq: '7',
      lastHash: row(7).hash,
    });
  });

  it("names a modified event's seq as hash_mismatch", async () => {
    await tamper(() =>
      sql(`UPDATE audit_events SET payload = payload || '{"verdict":"deny"}' WHERE seq = 2`),
    );
    await expectBroken(2, 'hash_mismatch');
  });

  it('an event rewritten together with a recomputed hash is caught at the next one', async () => {
    // Rewritten into an event that carries no signature: only the links can tell.
    const hash = chainHash(row(1).hash, {
      type: 'decision.refused',
      requestId: row(2).request_id,
      actor: 'mallory@x.org',
      payload: { forged: true },
      occurredAt: row(2).occurred_at,
    });
    await tamper(() =>
      sql(
        `UPDATE audit_events SET type = 'decision.refused', actor = 'mallory@x.org', payload = '{"forged":true}', hash = $1 WHERE seq = 2`,
        [hash],
      ),
    );
    // Event 2 now checks out on its own, but event 3 still links to the original hash of 2.
    await expectBroken(3, 'broken_link');
  });

  it('a state-changing event rewritten with a recomputed hash is caught at itself: its signature fails', async () => {
    const hash = chainHash(row(1).hash, {
      type: row(2).type,
      requestId: row(2).request_id,
      actor: 'mallory@x.org',
      payload: { forged: true },
      occurredAt: row(2).occurred_at,
    });
    await tamper(() =>
      sql(
        `UPDATE audit_events SET actor = 'mallory@x.org', payload = '{"forged":true}', hash = $1 WHERE seq = 2`,
        [hash],
      ),
    );
    await expectBroken(2, 'bad_signature');
  });

  it('names the event after a deleted one (the seq gap)', async () => {
    await tamper(() => sql('DELETE FROM audit_events WHERE seq = 4'));
    await expectBroken(5, 'sequence_gap', 3);
  });

  it('names the new first event when the first one is deleted: the chain must start at 1', async () => {
    await tamper(() => sql('DELETE FROM audit_events WHERE seq = 1'));
    await expectBroken(2, 'sequence_gap', 0);
  });

  it('refuses a chain that starts later than 1 even when it was relinked from the genesis hash', async () => {
    await tamper(async () => {
      await sql('DELETE FROM audit_events WHERE seq <= 3');
      let prev = '0'.repeat(64);
      for (const seq of [4, 5, 6, 7]) {
        const r = row(seq);
        const { rows } = await sql('SELECT actor, payload FROM audit_events WHERE seq = $1', [seq]);
        const stored = rows[0] as { actor: string; payload: unknown };
        const hash = chainHash(prev, {
          type: r.type,
          requestId: r.request_id,
          actor: stored.actor,
          payload: stored.payload,
          occurredAt: r.occurred_at,
        });
        await sql('UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3', [prev, hash, seq]);
        prev = hash;
      }
      await sql('UPDATE audit_chain_head SET hash = $1', [prev]);
    });
    const result = await verifyChain(m.db);
    expect(result).toMatchObject({ intact: false, firstBadSeq: '4', problem: 'sequence_gap' });
    expect(result.intact ? '' : result.detail).toContain('not 1');
  });

  it('names the first request when every event is deleted and the head reset', async () => {
    // Both requests were created at the same clock time: either may be named first.
    const requests = [row(1).request_id, row(4).request_id];
    await tamper(async () => {
      await sql('TRUNCATE audit_events');
      await sql(`UPDATE audit_chain_head SET seq = 0, hash = repeat('0', 64)`);
    });
    expect(await verifyChain(m.db)).toMatchObject({
      intact: false,
      events: 0,
      firstBadSeq: '1',
      problem: 'request_mismatch',
      requestId: expect.toBeOneOf(requests) as string,
    });
  });

  it('names a pending request flipped to approved with an inserted decision row', async () => {
    const pending = await createTestRequest(deps, { action: 'prod.forge' }); // 8 request.created
    await sql(`UPDATE approval_requests SET status = 'approved', decided_at = now() WHERE id = $1`, [
      pending.id,
    ]);
    await sql(
      `INSERT INTO decisions (id, request_id, approver_email, platform, verdict) VALUES (gen_random_uuid(), $1, 'mallory@x.org', 'api', 'approve')`,
      [pending.id],
    );
    const result = await verifyChain(m.db);
    expect(result).toMatchObject({
      intact: false,
      events: 8,
      firstBadSeq: '8',
      problem: 'request_mismatch',
      requestId: pending.id,
    });
    expect(result.intact ? '' : result.detail).toContain(pending.id);
  });

  it('names a request whose decision row was inserted or changed although its status agrees', async () => {
    const approved = row(3).request_id;
    await sql(`UPDATE decisions SET approver_email = 'mallory@x.org' WHERE request_id = $1`, [approved]);
    expect(await verifyChain(m.db)).toMatchObject({
      intact: false,
      firstBadSeq: '3',
      problem: 'request_mismatch',
      requestId: approved,
    });
  });

  /** Moves events 5–7 to 6–8 and inserts a forged event as 5, linked to `prevOf5`. */
  async function insertForgedAt5(prevOf5: string, type = 'decision.refused'): Promise<void> {
    const fields = {
      type,
      requestId: row(4).request_id,
      actor: 'mallory@x.org',
      payload: { approver: { email: 'mallory@x.org' }, verdict: 'approve', reason: null },
      occurredAt: row(4).occurred_at,
    };
    await tamper(async () => {
      await sql('UPDATE audit_events SET seq = -seq WHERE seq >= 5');
      await sql('UPDATE audit_events SET seq = 1 - seq WHERE seq < 0');
      await sql(
        `INSERT INTO audit_events (seq, type, request_id, actor, payload, occurred_at, prev_hash, hash)
         VALUES (5, $1, $2, $3, $4, $5, $6, $7)`,
        [
          fields.type,
          fields.requestId,
          fields.actor,
          JSON.stringify(fields.payload),
          fields.occurredAt,
          prevOf5,
          chainHash(prevOf5, fields),
        ],
      );
    });
  }

  it('an event inserted in the middle over the wrong prev is named itself', async () => {
    // Its own hash is valid over the prev it claims (event 3), but event 4 precedes it: broken_link at 5.
    await insertForgedAt5(row(3).hash);
    await expectBroken(5, 'broken_link');
  });

  it('an event inserted in the middle over the right prev is named at the one after it', async () => {
    // Linked to event 4 with a valid hash, it passes; the displaced event (now 6) still links to 4.
    await insertForgedAt5(row(4).hash);
    await expectBroken(6, 'broken_link');
  });

  it('a state-changing event inserted over the right prev is named itself: it carries no signature', async () => {
    await insertForgedAt5(row(4).hash, 'decision.recorded');
    await expectBroken(5, 'bad_signature');
  });

  it('names the first of two events whose types and payloads were swapped', async () => {
    await tamper(() =>
      sql(`UPDATE audit_events a SET type = b.type, payload = b.payload
             FROM audit_events b WHERE (a.seq, b.seq) IN ((3, 4), (4, 3))`),
    );
    await expectBroken(3, 'hash_mismatch');
  });

  it('names the first of two events whose places were swapped', async () => {
    await tamper(async () => {
      await sql('UPDATE audit_events SET seq = 0 WHERE seq = 3');
      await sql('UPDATE audit_events SET seq = 3 WHERE seq = 4');
      await sql('UPDATE audit_events SET seq = 4 WHERE seq = 0');
    });
    // Event 4's content now sits at seq 3 and links to 3's hash, not 2's.
    await expectBroken(3, 'broken_link');
  });

  it('names the first missing seq when events are deleted from the end of the chain', async () => {
    await tamper(() => sql('DELETE FROM audit_events WHERE seq >= 6'));
    expect(await verifyChain(m.db)).toMatchObject({
      intact: false,
      firstBadSeq: '6',
      problem: 'head_mismatch',
    });
  });

  it('refuses to move the chain head backwards or remove it', async () => {
    await expect(sql('UPDATE audit_chain_head SET seq = seq - 1')).rejects.toThrow(/only moves forward/);
    await expect(sql('DELETE FROM audit_chain_head')).rejects.toThrow(/only moves forward/);
    await expect(sql('TRUNCATE audit_chain_head')).rejects.toThrow(/append-only/);
  });
});
