// A leaked runtime-role login cannot mint an approval: on a Postgres cluster of its own, the
// runtime role appends a well-formed decision.recorded + request.approved through the chain's
// append function, flips the row and inserts the decision. Without the server's event key its
// events carry no valid signature: `audit verify` and `--checkpoints` fail, and the server serves
// no receipt and refuses an execution.
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventDigestInput } from '../../apps/server/src/audit/append-event.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { createApproval, expectProblem, type Approval } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { TEST_EVENT_KEY } from '../support/test-event-key.ts';
import {
  createClusterDatabase,
  findPostgresBin,
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from '../support/throwaway-postgres.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const bin = findPostgresBin();
const ROLE = 'countersign_forger';

describe.skipIf(!bin)(
  'a verdict forged with the runtime role (private cluster)',
  { timeout: 180_000 },
  () => {
    let cluster: ThrowawayPostgres;
    let ownerUrl: string;
    let runtimeUrl: string;
    let t: TestServer;
    let key: string;
    let checkpoints: string;
    let forged: Approval;
    let forgedSeq: string;

    beforeAll(async () => {
      cluster = await startThrowawayPostgres(bin ?? '');
      ownerUrl = await createClusterDatabase(cluster, 'forge');
      const admin = new pg.Client({ connectionString: ownerUrl });
      await admin.connect();
      await admin.query(`CREATE ROLE ${ROLE} LOGIN`);
      await admin.end();
      const login = new URL(ownerUrl);
      login.username = ROLE;
      runtimeUrl = login.toString();
      t = await startTestServer({
        database: { url: ownerUrl, kind: 'postgres', drop: () => Promise.resolve() },
        env: { COUNTERSIGN_RUNTIME_ROLE: ROLE, COUNTERSIGN_RUNTIME_DATABASE_URL: runtimeUrl },
      });
      ({ key } = await t.createKey());
      forged = await createApproval(t, key, { context: { table: 'users' } });

      // A checkpoint signed by the server before the attack, exported and kept elsewhere.
      const env = cliEnv({ DATABASE_URL: ownerUrl, COUNTERSIGN_RUNTIME_ROLE: 'off' });
      const signed = await runCli(['audit', 'checkpoint'], env);
      expect(signed.code, describeRun(signed)).toBe(0);
      const exported = await runCli(['audit', 'checkpoint', 'export'], env);
      expect(exported.code, describeRun(exported)).toBe(0);
      checkpoints = join(tmpdir(), `countersign-forge-${process.pid}.jsonl`);
      await writeFile(checkpoints, exported.stdout);

      // The attack, with nothing but the runtime role's login.
      const attacker = new pg.Client({ connectionString: runtimeUrl });
      await attacker.connect();
      try {
        const { rows } = await attacker.query<{ current: string }>('SELECT current_user AS current');
        expect(rows[0]?.current).toBe(ROLE);
        const occurredAt = new Date(Math.floor(Date.now()));
        const approver = {
          email: 'mallory@example.com',
          platform: 'slack',
          platformUserId: 'U0M',
          displayName: 'M',
        };
        const events = [
          {
            type: 'decision.recorded',
            requestId: forged.id,
            actor: approver.email,
            payload: { approver, verdict: 'approve', reason: null },
            occurredAt,
          },
          {
            type: 'request.approved',
            requestId: forged.id,
            actor: 'countersign',
            payload: { approvals: [approver.email], denials: [], quorum: 1, denyQuorum: 1 },
            occurredAt,
          },
        ];
        // Signed with a key of its own, under the server key's kid: the best a forger can do.
        const ownKey = generateKeyPairSync('ed25519').privateKey;
        const batch = events.map((event) => {
          const canonical = eventDigestInput(event);
          const signature = `${TEST_EVENT_KEY.kid}.${sign(null, Buffer.from(canonical), ownKey).toString('base64url')}`;
          return { ...event, occurredAt: occurredAt.toISOString(), canonical, signature };
        });
        await attacker.query('BEGIN');
        const appended = await attacker.query<{ seq: string }>(
          'SELECT countersign_append_audit_events($1::jsonb)::text AS seq',
          [JSON.stringify(batch)],
        );
        forgedSeq = String(BigInt(appended.rows[0]?.seq ?? '0') - 1n);
        await attacker.query(
          `UPDATE approval_requests SET status = 'approved', decided_at = $2 WHERE id = $1`,
          [forged.id, occurredAt],
        );
        await attacker.query(
          `INSERT INTO decisions (id, request_id, approver_email, platform, platform_user_id, display_name, verdict, created_at)
         VALUES (gen_random_uuid(), $1, $2, 'slack', 'U0M', 'M', 'approve', $3)`,
          [forged.id, approver.email, occurredAt],
        );
        await attacker.query('COMMIT');
      } finally {
        await attacker.end();
      }
    });
    afterAll(async () => {
      await killRunningClis();
      await t?.close();
      await cluster?.destroy();
    });

    it('is named by verify: the forged decision is not signed by the server', async () => {
      const owner = new pg.Pool({ connectionString: ownerUrl, max: 2 });
      try {
        expect(await verifyChain({ pool: owner })).toMatchObject({
          intact: false,
          firstBadSeq: forgedSeq,
          problem: 'bad_signature',
        });
      } finally {
        await owner.end();
      }
    });

    it('makes `audit verify` and `audit verify --checkpoints` exit 1', async () => {
      const env = cliEnv({ DATABASE_URL: ownerUrl, COUNTERSIGN_RUNTIME_ROLE: 'off' });
      const plain = await runCli(['audit', 'verify'], env);
      expect(plain.code, describeRun(plain)).toBe(1);
      expect(plain.stdout).toMatch(/decision\.recorded\) is not the server's/);
      const held = await runCli(['audit', 'verify', '--checkpoints', checkpoints], env);
      expect(held.code, describeRun(held)).toBe(1);
    });

    it('gets no receipt from the server, and no execution', async () => {
      const read = await t.call<Approval>('GET', `/v1/approvals/${forged.id}`, { key });
      expect(read.body).not.toHaveProperty('receipt');
      expectProblem(read, 'CHAIN_MISMATCH');
      const list = await t.call<{ items: Approval[] }>('GET', '/v1/approvals?limit=100', { key });
      const listed = list.body.items.find((item) => item.id === forged.id);
      expect(listed?.status).toBe('approved');
      expect(listed).not.toHaveProperty('receipt');
      const run = await t.call('POST', `/v1/approvals/${forged.id}/execution`, {
        key,
        body: { payloadDigest: forged.payloadDigest },
      });
      expectProblem(run, 'CHAIN_MISMATCH');
    });
  },
);
