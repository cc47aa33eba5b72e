// Signed checkpoints of the audit chain head: made on demand (`countersign audit checkpoint`) and
// every COUNTERSIGN_CHECKPOINT_INTERVAL_MIN, exported as JSON lines, and checked by
// `audit verify --checkpoints`. A superuser who rewrites events and head together, recomputing the
// whole chain so that `audit verify` alone says intact, is caught by anyone holding an export.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chainHash } from '../../apps/server/src/audit/append-event.ts';
import { CHECKPOINT_TYPE } from '../../apps/server/src/receipts/sign-receipt.ts';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const receiptKey = generateKeyPairSync('ed25519')
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

interface EventRow {
  seq: string;
  type: string;
  request_id: string | null;
  actor: string;
  payload: unknown;
  occurred_at: Date;
  hash: string;
}

const readEvents = (url: string) =>
  withPgClient(url, async (client) => {
    const { rows } = await client.query<EventRow>(
      `SELECT seq::text AS seq, type, request_id, actor, payload, occurred_at, hash FROM audit_events ORDER BY seq`,
    );
    return rows;
  });

afterEach(async () => {
  await killRunningClis();
});

describe.skipIf(!usingRealPostgres)('checkpoints on demand, exported and verified (real Postgres)', () => {
  let database: TestDatabase;
  let t: TestServer;
  let key: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-checkpoints-'));
    database = await createTestDatabase();
    t = await startTestServer({ database, env: { COUNTERSIGN_RECEIPT_KEY: receiptKey } });
    ({ key } = await t.createKey());
    env = cliEnv({ DATABASE_URL: database.url, COUNTERSIGN_RECEIPT_KEY: receiptKey });
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const checkpointsFile = () => join(dir, 'checkpoints.jsonl');
  const jwksFile = () => join(dir, 'jwks.json');

  it('signs the head on demand and appends the checkpoint as an audit event', async () => {
    const first = await createApproval(t, key);
    await t.call('POST', `/v1/approvals/${first.id}/cancel`, { key, body: { reason: 'not needed' } });
    const before = await readEvents(database.url);
    const head = before.at(-1);
    const result = await runCli(['audit', 'checkpoint'], env);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain(`checkpoint: seq ${head?.seq}, hash ${head?.hash}, at `);
    const after = await readEvents(database.url);
    expect(after).toHaveLength(before.length + 1);
    expect(after.at(-1)).toMatchObject({
      type: 'audit.checkpoint',
      actor: expect.stringMatching(/^cli:/) as string,
      payload: { seq: head?.seq, hash: head?.hash },
    });
    await createApproval(t, key);
    const second = await runCli(['audit', 'checkpoint', '--json'], env);
    expect(second.code, describeRun(second)).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ seq: String(after.length + 1) });
  });

  it('exports every checkpoint as a JSON line whose JWS verifies against GET /v1/keys/receipt', async () => {
    const result = await runCli(['audit', 'checkpoint', 'export', '--out', checkpointsFile()], env);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stderr).toContain('exported 2 checkpoint(s)');
    const lines = (await readFile(checkpointsFile(), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    const jwks = (await t.call<JSONWebKeySet>('GET', '/v1/keys/receipt')).body;
    await writeFile(jwksFile(), JSON.stringify(jwks));
    const events = await readEvents(database.url);
    for (const line of lines) {
      const exported = JSON.parse(line) as { seq: string; hash: string; jws: string; eventSeq: string };
      const { payload, protectedHeader } = await compactVerify(exported.jws, createLocalJWKSet(jwks));
      expect(protectedHeader.typ).toBe(CHECKPOINT_TYPE);
      const signed = JSON.parse(new TextDecoder().decode(payload)) as { seq: string; hash: string };
      expect(signed).toMatchObject({ seq: exported.seq, hash: exported.hash });
      expect(events.find((e) => e.seq === signed.seq)?.hash).toBe(signed.hash);
      expect(events.find((e) => e.seq === exported.eventSeq)?.type).toBe('audit.checkpoint');
    }
  });

  it('verify --checkpoints passes on the untouched chain, with the configured key or a saved JWKS', async () => {
    const withKey = await runCli(['audit', 'verify', '--checkpoints', checkpointsFile()], env);
    expect(withKey.code, describeRun(withKey)).toBe(0);
    expect(withKey.stdout).toMatch(/^checkpoints: 2 verified, up to seq \d+$/m);
    expect(withKey.stdout).toMatch(/^intact: /m);
    const withJwks = await runCli(
      ['audit', 'verify', '--checkpoints', checkpointsFile(), '--jwks', jwksFile()],
      cliEnv({ DATABASE_URL: database.url }),
    );
    expect(withJwks.code, describeRun(withJwks)).toBe(0);
  });

  it('catches a superuser who rewrote an event and recomputed the whole chain and its head', async () => {
    const exported = (await readFile(checkpointsFile(), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: string });
    const firstCheckpointSeq = exported[0]?.seq;
    await withPgClient(database.url, async (client) => {
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await client.query('ALTER TABLE audit_chain_head DISABLE TRIGGER USER');
      try {
        const { rows } = await client.query<EventRow>(
          `SELECT seq::text AS seq, type, request_id, actor, payload, occurred_at, hash FROM audit_events ORDER BY seq`,
        );
        let prev = '0'.repeat(64);
        for (const row of rows) {
          const actor = row.seq === '1' ? 'someone-else@example.com' : row.actor;
          const hash = chainHash(prev, {
            type: row.type,
            requestId: row.request_id,
            actor,
            payload: row.payload,
            occurredAt: row.occurred_at,
          });
          await client.query('UPDATE audit_events SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4', [
            actor,
            prev,
            hash,
            row.seq,
          ]);
          prev = hash;
        }
        await client.query('UPDATE audit_chain_head SET hash = $1', [prev]);
      } finally {
        await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
        await client.query('ALTER TABLE audit_chain_head ENABLE TRIGGER USER');
      }
    });
    // The chain alone cannot tell: it was recomputed consistently.
    const alone = await runCli(['audit', 'verify'], env);
    expect(alone.code, describeRun(alone)).toBe(0);
    const held = await runCli(
      ['audit', 'verify', '--checkpoints', checkpointsFile(), '--jwks', jwksFile()],
      env,
    );
    expect(held.code, describeRun(held)).toBe(1);
    expect(held.stdout).toContain(`CHECKPOINT MISMATCH at seq ${firstCheckpointSeq} (hash_differs): `);
    const json = await runCli(['audit', 'verify', '--json', '--checkpoints', checkpointsFile()], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      intact: true,
      checkpoints: { ok: false, seq: firstCheckpointSeq, problem: 'hash_differs' },
    });
  });

  it('refuses a checkpoint for the rewritten chain signed with any other key', async () => {
    const events = await readEvents(database.url);
    const last = events.at(-1);
    const forged = await new CompactSign(
      new TextEncoder().encode(
        JSON.stringify({ seq: last?.seq, hash: last?.hash, at: new Date().toISOString() }),
      ),
    )
      .setProtectedHeader({ alg: 'EdDSA', typ: CHECKPOINT_TYPE })
      .sign(generateKeyPairSync('ed25519').privateKey);
    const file = join(dir, 'forged.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ seq: last?.seq, hash: last?.hash, at: 'x', kid: 'x', jws: forged })}\n`,
    );
    const result = await runCli(['audit', 'verify', '--checkpoints', file, '--jwks', jwksFile()], env);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stdout).toContain('CHECKPOINT MISMATCH at line 1 (bad_signature)');
  });
});

describe('periodic checkpoints (COUNTERSIGN_CHECKPOINT_INTERVAL_MIN)', () => {
  let t: TestServer;
  beforeAll(async () => {
    // 0.005 minutes = 300 ms
    t = await startTestServer({ env: { COUNTERSIGN_CHECKPOINT_INTERVAL_MIN: '0.005' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const checkpointEvents = async () =>
    (await readEvents(t.database.url)).filter((e) => e.type === 'audit.checkpoint');

  it('signs the head after new events, and only then', async () => {
    const { key } = await t.createKey();
    await createApproval(t, key);
    // The timer may tick between the start-up events, the key and the request: wait until the
    // newest event is a checkpoint, so every event so far is signed.
    const quiet = async () => {
      const events = await readEvents(t.database.url);
      return { events, checkpoints: events.filter((e) => e.type === 'audit.checkpoint') };
    };
    const settled = await pollUntil(quiet, ({ events }) => events.at(-1)?.type === 'audit.checkpoint', {
      what: 'a checkpoint after the request',
    });
    const first = settled.checkpoints.at(-1);
    // It signs the head as it stood: the event just before the checkpoint itself.
    expect(first).toMatchObject({
      actor: 'system:checkpoint',
      payload: { seq: String(Number(first?.seq) - 1) },
    });
    // Nothing new since: several intervals pass without another checkpoint.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await checkpointEvents()).toHaveLength(settled.checkpoints.length);
    await createApproval(t, key);
    const all = await pollUntil(
      checkpointEvents,
      (found) => found.length === settled.checkpoints.length + 1,
      {
        what: 'a checkpoint after the new event',
      },
    );
    const events = [first, all.at(-1)];
    const jwks = (await t.call<JSONWebKeySet>('GET', '/v1/keys/receipt')).body;
    const jws = (events[1]?.payload as { jws: string }).jws;
    await expect(compactVerify(jws, createLocalJWKSet(jwks))).resolves.toBeDefined();
  });
});
