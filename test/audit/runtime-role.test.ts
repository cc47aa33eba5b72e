// The service's own sessions run as a role that does not own the audit tables: whatever SQL they
// execute, they cannot switch off or drop the append-only triggers, delete, update or truncate
// events, or move the chain head, while the service itself keeps working.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { migrate } from '../../apps/server/src/db/migrate.ts';
import { resolveSessionUrl } from '../../apps/server/src/db/runtime-role.ts';
import { createApproval } from '../support/api-fixtures.ts';
import { capturingLogger, silentLogger } from '../support/logging.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const ATTACKS: [string, string][] = [
  ['ALTER TABLE … DISABLE TRIGGER', 'ALTER TABLE audit_events DISABLE TRIGGER USER'],
  ['ALTER TABLE … DISABLE TRIGGER on the head', 'ALTER TABLE audit_chain_head DISABLE TRIGGER USER'],
  ['DROP TRIGGER', 'DROP TRIGGER audit_events_no_update_delete ON audit_events'],
  ['DROP TRIGGER on the head', 'DROP TRIGGER audit_chain_head_forward_only ON audit_chain_head'],
  ['DELETE', 'DELETE FROM audit_events'],
  ['UPDATE', `UPDATE audit_events SET actor = 'mallory'`],
  ['TRUNCATE', 'TRUNCATE audit_events'],
  [
    'INSERT past the head',
    `INSERT INTO audit_events (seq, type, actor, payload, prev_hash, hash) VALUES (999, 'x', 'm', '{}', 'a', 'b')`,
  ],
  ['UPDATE of the head', `UPDATE audit_chain_head SET seq = 0, hash = repeat('0', 64)`],
  ['DELETE of the head', 'DELETE FROM audit_chain_head'],
  ['TRUNCATE of the head', 'TRUNCATE audit_chain_head'],
  ['DROP TABLE', 'DROP TABLE audit_events'],
  ['replacing the append function', `ALTER FUNCTION countersign_append_audit_events(jsonb) SECURITY INVOKER`],
  ['reading the stored receipt key', 'SELECT private_jwk FROM receipt_keys'],
];

/** Runs `statement` on one connection of `pool`, inside a transaction that is rolled back. */
async function attempt(pool: pg.Pool, statement: string): Promise<unknown> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      return await client.query(statement);
    } finally {
      await client.query('ROLLBACK');
    }
  } finally {
    client.release();
  }
}

describe.skipIf(!usingRealPostgres)('the runtime role (one superuser DATABASE_URL)', () => {
  let t: TestServer;
  let owner: pg.Pool;
  beforeAll(async () => {
    t = await startTestServer();
    owner = new pg.Pool({ connectionString: t.database.url, max: 2 });
    const { key } = await t.createKey();
    const created = await createApproval(t, key);
    await t.call('POST', `/v1/approvals/${created.id}/cancel`, { key, body: { reason: 'chain has events' } });
  });
  afterAll(async () => {
    await owner?.end();
    await t?.close();
  });

  it("runs the server's pooled sessions as countersign_app, also after RESET ROLE", async () => {
    const { rows } = await t.server.db.pool.query<{ current: string }>('SELECT current_user AS current');
    expect(rows[0]?.current).toBe('countersign_app');
    const client = await t.server.db.pool.connect();
    try {
      await client.query('RESET ROLE');
      const after = await client.query<{ current: string }>('SELECT current_user AS current');
      expect(after.rows[0]?.current).toBe('countersign_app');
    } finally {
      client.release();
    }
  });

  it.each(ATTACKS)('refuses %s from the service pool', async (_name, statement) => {
    await expect(attempt(t.server.db.pool, statement)).rejects.toThrow(/must be owner|permission denied/);
  });

  it('leaves the chain intact and every event in place after the attempts', async () => {
    const count = await owner.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_events');
    expect(Number(count.rows[0]?.n)).toBeGreaterThanOrEqual(2);
    expect(await verifyChain({ pool: owner })).toMatchObject({ intact: true, firstSeq: '1' });
  });

  it('keeps the service working under the role: requests, decisions, jobs and the chain', async () => {
    const { key } = await t.createKey('second');
    const created = await createApproval(t, key);
    const cancelled = await t.call('POST', `/v1/approvals/${created.id}/cancel`, { key, body: {} });
    expect(cancelled.status).toBe(200);
    const verify = await t.call<{ intact: boolean }>('GET', '/v1/audit/verify', {
      key: (await t.createKey('auditor', ['audit:read'])).key,
    });
    expect(verify.body.intact).toBe(true);
    const jobs = await owner.query<{ owner: string }>(
      `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'pgboss.job'::regclass`,
    );
    expect(jobs.rows[0]?.owner).toBe('countersign_app');
  });
});

describe.skipIf(!usingRealPostgres)(
  'the runtime role with a login of its own (COUNTERSIGN_RUNTIME_DATABASE_URL)',
  () => {
    const role = `countersign_rt_${randomBytes(4).toString('hex')}`;
    let database: TestDatabase;
    let t: TestServer | undefined;
    let admin: pg.Client;
    beforeAll(async () => {
      admin = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
      await admin.connect();
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      database = await createTestDatabase();
      const login = new URL(database.url);
      login.username = role;
      t = await startTestServer({
        database,
        env: { COUNTERSIGN_RUNTIME_ROLE: role, COUNTERSIGN_RUNTIME_DATABASE_URL: login.toString() },
      });
    });
    afterAll(async () => {
      await t?.close();
      await database?.drop();
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });

    it('logs in as the role, which cannot become anyone else', async () => {
      const pool = t!.server.db.pool;
      const { rows } = await pool.query<{ current: string; session: string }>(
        'SELECT current_user AS current, session_user AS session',
      );
      expect(rows[0]).toEqual({ current: role, session: role });
      await expect(attempt(pool, 'SET ROLE postgres')).rejects.toThrow(/permission denied/);
      await expect(attempt(pool, 'ALTER TABLE audit_events DISABLE TRIGGER USER')).rejects.toThrow(
        /must be owner/,
      );
      // SET ROLE NONE returns to the login, which is the runtime role itself.
      const client = await pool.connect();
      try {
        await client.query('SET ROLE NONE');
        await expect(client.query('DELETE FROM audit_events')).rejects.toThrow(/permission denied/);
      } finally {
        client.release();
      }
    });
  },
);

describe.skipIf(!usingRealPostgres)('an owner that may not create roles', () => {
  const owner = `countersign_owner_${randomBytes(4).toString('hex')}`;
  const dbName = `${owner}_db`;
  let admin: pg.Client;
  let url: string;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
    await admin.connect();
    await admin.query(`CREATE ROLE ${owner} LOGIN NOSUPERUSER NOCREATEROLE`);
    await admin.query(`CREATE DATABASE ${dbName} OWNER ${owner}`);
    const parsed = new URL(process.env['DATABASE_URL'] ?? '');
    parsed.username = owner;
    parsed.pathname = `/${dbName}`;
    url = parsed.toString();
    await migrate(url, silentLogger());
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${owner}`);
    await admin.end();
  });

  it('keeps sessions on the owner and logs why', async () => {
    const captured = capturingLogger();
    const missing = `countersign_missing_${randomBytes(4).toString('hex')}`;
    const sessionUrl = await resolveSessionUrl({
      ownerUrl: url,
      embedded: false,
      role: missing,
      runtimeUrl: undefined,
      log: captured.log,
    });
    expect(sessionUrl).toBe(url);
    const warning = captured.lines().find((line) => line['level'] === 40);
    expect(String(warning?.['msg'])).toContain(
      `role ${missing} does not exist and ${owner} may not create roles`,
    );
  });
});

describe('embedded PGlite', () => {
  it('keeps sessions on the owner and logs why', async () => {
    const captured = capturingLogger();
    const url = 'postgresql://postgres@127.0.0.1:1/postgres';
    expect(
      await resolveSessionUrl({
        ownerUrl: url,
        embedded: true,
        role: 'countersign_app',
        runtimeUrl: undefined,
        log: captured.log,
      }),
    ).toBe(url);
    expect(captured.text()).toContain('PGlite has one session shared by every connection');
  });
});
