// Verdict receipts end to end: decided requests carry a JWS that verifies against GET
// /v1/keys/receipt, tampering fails, the key is generated once (or read from
// COUNTERSIGN_RECEIPT_KEY) and its private part never leaves the server.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  calculateJwkThumbprint,
  CompactSign,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { ConfigError } from '../../apps/server/src/config.ts';
import { systemClock, type Deps } from '../../apps/server/src/deps.ts';
import { loadReceiptKey } from '../../apps/server/src/receipts/load-receipt-key.ts';
import { RECEIPT_TYPE } from '../../apps/server/src/receipts/sign-receipt.ts';
import { createApproval, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { capturingLogger, silentLogger, type CapturedLog } from '../support/logging.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { openMigratedDatabase, testDeps } from '../support/use-case-fixtures.ts';

interface OpenApiDocument {
  paths: Record<string, Record<string, object>>;
  components: { schemas: Record<string, { properties?: object; required?: string[] }> };
}

interface StoredKey {
  kid: string;
  d: string;
}

function storedKeys(url: string): Promise<StoredKey[]> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<StoredKey>(
      `SELECT kid, private_jwk->>'d' AS d FROM receipt_keys ORDER BY created_at`,
    );
    return rows;
  });
}

async function fetchJwks(t: TestServer): Promise<JSONWebKeySet> {
  const response = await t.call<JSONWebKeySet>('GET', '/v1/keys/receipt');
  expect(response.status).toBe(200);
  return response.body;
}

function verifyReceipt(receipt: string, jwks: JSONWebKeySet) {
  return jwtVerify(receipt, createLocalJWKSet(jwks), { algorithms: ['EdDSA'], typ: RECEIPT_TYPE });
}

/** The request's verdict event as the chain stores it (read as the owner). */
function storedVerdictEvent(url: string, approval: Approval): Promise<{ seq: string; hash: string }> {
  return withPgClient(url, async (client) => {
    const { rows } = await client.query<{ seq: string; hash: string }>(
      `SELECT seq::text AS seq, hash FROM audit_events WHERE request_id = $1 AND type = $2`,
      [approval.id, `request.${approval.status}`],
    );
    expect(rows).toHaveLength(1);
    return rows[0] as { seq: string; hash: string };
  });
}

/** What the receipt must state, derived from the API representation of the same request and the chain. */
async function expectedPayload(t: TestServer, approval: Approval) {
  return {
    id: approval.id,
    action: approval.action,
    payloadDigest: approval.payloadDigest,
    status: approval.status,
    // The requester with its proof, as the API shows them (this key is unbound: claimed).
    requester: {
      email: approval.requester.email,
      name: approval.requester.name,
      proof: approval.requester.proof,
      shown: approval.requester.shown,
    },
    decisions: approval.decisions.map((d) => ({
      approver: d.approver.email,
      platform: d.approver.platform,
      verdict: d.verdict,
      reason: d.reason,
      at: d.at,
    })),
    decidedAt: approval.decidedAt,
    verdictEvent: await storedVerdictEvent(t.database.url, approval),
    agent: approval.agent,
  };
}

function ed25519Pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

describe('receipts signed with the generated key', () => {
  let captured: CapturedLog;
  let t: TestServer;
  let key: string;
  let deps: Deps;
  const responseTexts: string[] = [];
  beforeAll(async () => {
    captured = capturingLogger('trace');
    t = await startTestServer({ log: captured.log });
    ({ key } = await t.createKey());
    deps = testDeps(t.server.db, { clock: systemClock });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Calls the API and keeps the raw body, to prove later that none leaked the private key. */
  async function call<T>(method: string, path: string, body?: unknown) {
    const response = await t.call<T>(method, path, { key, ...(body === undefined ? {} : { body }) });
    responseTexts.push(JSON.stringify(response.body));
    return response;
  }

  async function decided(verdict: 'approve' | 'deny', reason?: string): Promise<Approval> {
    const created = await createApproval(t, key, {
      context: { table: 'users', token: 'sk-live-abc123' },
    });
    await recordDecision(deps, {
      requestId: created.id,
      verdict,
      reason,
      approver: { email: 'Bob@Example.com', platform: 'slack', platformUserId: 'U0BOB', displayName: 'Bob' },
    });
    const read = await call<Approval>('GET', `/v1/approvals/${created.id}`);
    expect(read.status).toBe(200);
    return read.body;
  }

  it('serves the public JWKS without auth, cacheable, with the RFC 7638 thumbprint as kid', async () => {
    const response = await t.call<JSONWebKeySet>('GET', '/v1/keys/receipt');
    responseTexts.push(JSON.stringify(response.body));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    const [jwk, ...rest] = response.body.keys;
    expect(rest).toEqual([]);
    expect(Object.keys(jwk ?? {}).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(jwk?.x).toMatch(/^[\w-]{43}$/);
    expect(jwk?.kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: String(jwk?.x) }));
  });

  it('gives an approved request a receipt that verifies and states exactly what was decided', async () => {
    const approval = await decided('approve');
    expect(approval.status).toBe('approved');
    expect(approval.receipt).toEqual(expect.any(String));
    const jwks = await fetchJwks(t);
    const { payload, protectedHeader } = await verifyReceipt(String(approval.receipt), jwks);
    expect(protectedHeader).toStrictEqual({ alg: 'EdDSA', kid: jwks.keys[0]?.kid, typ: RECEIPT_TYPE });
    expect(payload).toStrictEqual(await expectedPayload(t, approval));
    expect(payload).toMatchObject({
      status: 'approved',
      decisions: [{ approver: 'bob@example.com', platform: 'slack', verdict: 'approve', reason: null }],
    });
  });

  it('gives a denied request a receipt with the reason', async () => {
    const approval = await decided('deny', 'not this quarter');
    const { payload } = await verifyReceipt(String(approval.receipt), await fetchJwks(t));
    expect(payload).toStrictEqual(await expectedPayload(t, approval));
    expect(payload).toMatchObject({
      status: 'denied',
      decisions: [{ verdict: 'deny', reason: 'not this quarter' }],
    });
  });

  it('gives a cancelled request a receipt, in the cancel response and on GET alike', async () => {
    const created = await createApproval(t, key);
    const cancelled = await call<Approval>('POST', `/v1/approvals/${created.id}/cancel`, {
      reason: 'aborted',
    });
    expect(cancelled.status).toBe(200);
    const read = await call<Approval>('GET', `/v1/approvals/${created.id}`);
    expect(read.body.receipt).toBe(cancelled.body.receipt);
    const { payload } = await verifyReceipt(String(cancelled.body.receipt), await fetchJwks(t));
    expect(payload).toStrictEqual({
      ...(await expectedPayload(t, cancelled.body)),
      status: 'cancelled',
      decisions: [],
    });
  });

  it('gives a pending request no receipt, on create, GET and list', async () => {
    const created = await call<Approval>('POST', '/v1/approvals', {
      action: 'db.export',
      requester: { email: 'alice@example.com' },
    });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('receipt');
    const read = await call<Approval>('GET', `/v1/approvals/${created.body.id}`);
    expect(read.body.status).toBe('pending');
    expect(read.body).not.toHaveProperty('receipt');
    const list = await call<{ items: Approval[] }>('GET', '/v1/approvals?limit=100');
    const items = list.body.items;
    expect(items.find((a) => a.id === created.body.id)).not.toHaveProperty('receipt');
    const decidedItems = items.filter((a) => a.status !== 'pending');
    expect(decidedItems.length).toBeGreaterThan(0);
    const jwks = await fetchJwks(t);
    for (const item of decidedItems) {
      const { payload } = await verifyReceipt(String(item.receipt), jwks);
      expect(payload).toStrictEqual(await expectedPayload(t, item));
    }
  });

  it('names the verdict event in the audit chain, whose hash the chain verifies', async () => {
    const approval = await decided('approve');
    const { payload } = await verifyReceipt(String(approval.receipt), await fetchJwks(t));
    const event = await storedVerdictEvent(t.database.url, approval);
    expect(payload['verdictEvent']).toStrictEqual(event);
    const auditor = await t.createKey('auditor', ['audit:read']);
    const verify = await t.call<{ intact: boolean; lastSeq: string }>('GET', '/v1/audit/verify', {
      key: auditor.key,
    });
    expect(verify.body.intact).toBe(true);
    expect(BigInt(verify.body.lastSeq)).toBeGreaterThanOrEqual(BigInt(event.seq));
  });

  it('withholds the receipt of a request flipped to approved in the database, and verify names it', async () => {
    const created = await createApproval(t, key);
    // With the service's own database rights: a request row and a decision row, no audit event.
    await t.server.db.pool.query(
      `UPDATE approval_requests SET status = 'approved', decided_at = now() WHERE id = $1`,
      [created.id],
    );
    await t.server.db.pool.query(
      `INSERT INTO decisions (id, request_id, approver_email, platform, verdict)
       VALUES (gen_random_uuid(), $1, 'mallory@example.com', 'slack', 'approve')`,
      [created.id],
    );
    // The read of the one request is refused, naming what differs from the chain.
    const read = await call<Approval>('GET', `/v1/approvals/${created.id}`);
    expect(read.status).toBe(409);
    expect(read.body).not.toHaveProperty('receipt');
    const problem = read.body as unknown as { code: string; detail: string };
    expect(problem.code).toBe('CHAIN_MISMATCH');
    expect(problem.detail).toMatch(/its status, decisions in approval_requests/);
    const list = await call<{ items: Approval[] }>('GET', '/v1/approvals?limit=100');
    expect(list.body.items.find((a) => a.id === created.id)).not.toHaveProperty('receipt');
    expect(captured.lines()).toContainEqual(
      expect.objectContaining({
        requestId: created.id,
        msg: 'receipt withheld: the request row disagrees with the audit chain',
      }),
    );
    const auditor = await t.createKey('auditor-2', ['audit:read']);
    const verify = await t.call('GET', '/v1/audit/verify', { key: auditor.key });
    expect(verify.body).toMatchObject({ intact: false, problem: 'request_mismatch', requestId: created.id });
    // Put it back as it was, so the tests after this one see a consistent database.
    await withPgClient(t.database.url, async (client) => {
      await client.query(`DELETE FROM decisions WHERE request_id = $1`, [created.id]);
      await client.query(`UPDATE approval_requests SET status = 'pending', decided_at = NULL WHERE id = $1`, [
        created.id,
      ]);
    });
  });

  it('refuses a receipt with one character of its payload changed', async () => {
    const approval = await decided('approve');
    const [header, payload, signature] = String(approval.receipt).split('.');
    const at = Math.floor(String(payload).length / 2);
    const flipped = String(payload)[at] === 'A' ? 'B' : 'A';
    const tampered = [
      header,
      `${String(payload).slice(0, at)}${flipped}${String(payload).slice(at + 1)}`,
      signature,
    ].join('.');
    expect(tampered).not.toBe(approval.receipt);
    await expect(verifyReceipt(tampered, await fetchJwks(t))).rejects.toBeInstanceOf(
      errors.JWSSignatureVerificationFailed,
    );
  });

  it('refuses a receipt re-signed with another key under the same kid, even with a forged payload', async () => {
    const approval = await decided('deny', 'no');
    const header = decodeProtectedHeader(String(approval.receipt));
    const otherKey = generateKeyPairSync('ed25519').privateKey;
    const jwks = await fetchJwks(t);
    const honest = await expectedPayload(t, approval);
    for (const forgedPayload of [honest, { ...honest, status: 'approved' }]) {
      const forged = await new CompactSign(new TextEncoder().encode(JSON.stringify(forgedPayload)))
        .setProtectedHeader({ alg: 'EdDSA', kid: String(header.kid), typ: RECEIPT_TYPE })
        .sign(otherKey);
      await expect(verifyReceipt(forged, jwks)).rejects.toBeInstanceOf(errors.JWSSignatureVerificationFailed);
    }
  });

  it('documents the key set and the receipt in /openapi.json', async () => {
    const { body } = await t.call<OpenApiDocument>('GET', '/openapi.json');
    const keysPath = body.paths['/v1/keys/receipt']?.['get'];
    expect(keysPath).toBeDefined();
    // Public: the document requires a key globally, and this operation opts out with `security: []`.
    expect(keysPath).toHaveProperty('security', []);
    expect(body.components.schemas['ReceiptJwks']).toBeDefined();
    expect(body.components.schemas['Approval']?.properties).toHaveProperty('receipt');
    expect(body.components.schemas['Approval']?.required).not.toContain('receipt');
  });

  it('stores exactly one key, and no response or log line contains its private part', async () => {
    const keys = await storedKeys(t.database.url);
    expect(keys).toHaveLength(1);
    const [stored] = keys;
    expect(stored?.kid).toBe((await fetchJwks(t)).keys[0]?.kid);
    const d = String(stored?.d);
    expect(d.length).toBeGreaterThanOrEqual(40);
    const openapi = await t.call('GET', '/openapi.json');
    const problem = await t.call('GET', `/v1/approvals/not-a-uuid`, { key });
    responseTexts.push(JSON.stringify(openapi.body), JSON.stringify(problem.body));
    expect(responseTexts.length).toBeGreaterThan(10);
    for (const text of responseTexts) expect(text).not.toContain(d);
    expect(captured.text()).toContain('receipt signing key loaded');
    expect(captured.text()).not.toContain(d);
  });
});

describe('the stored key', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('is generated once and survives a restart, so earlier receipts still verify', async () => {
    const first = await startTestServer({ database });
    let receipt: string;
    let kid: string | undefined;
    try {
      const { key } = await first.createKey();
      const created = await createApproval(first, key);
      const cancelled = await first.call<Approval>('POST', `/v1/approvals/${created.id}/cancel`, { key });
      receipt = String(cancelled.body.receipt);
      kid = (await fetchJwks(first)).keys[0]?.kid;
    } finally {
      await first.close();
    }
    const second = await startTestServer({ database });
    try {
      const jwks = await fetchJwks(second);
      expect(jwks.keys[0]?.kid).toBe(kid);
      await expect(verifyReceipt(receipt, jwks)).resolves.toMatchObject({ payload: { status: 'cancelled' } });
      expect((await storedKeys(database.url)).map((k) => k.kid)).toEqual([kid]);
    } finally {
      await second.close();
    }
  });

  it('is one key however many replicas load it at once', async () => {
    const m = await openMigratedDatabase();
    try {
      const loads = Array.from({ length: 6 }, () =>
        loadReceiptKey({ setting: undefined, databaseUrl: m.database.url, log: silentLogger() }),
      );
      const kids = new Set((await Promise.all(loads)).map((k) => k.kid));
      expect(kids.size).toBe(1);
      expect((await storedKeys(m.database.url)).map((k) => k.kid)).toEqual([...kids]);
    } finally {
      await m.close();
    }
  });

  it.skipIf(!usingRealPostgres)(
    'is the same for two servers started at the same moment on a fresh database (real Postgres only: PGlite is one process)',
    async () => {
      const fresh = await createTestDatabase();
      const servers = await Promise.allSettled([
        startTestServer({ database: fresh }),
        startTestServer({ database: fresh }),
      ]);
      try {
        const started = servers.map((s) => {
          if (s.status === 'rejected') throw s.reason;
          return s.value;
        });
        const kids = await Promise.all(started.map(async (s) => (await fetchJwks(s)).keys[0]?.kid));
        expect(kids[0]).toEqual(expect.any(String));
        expect(kids[1]).toBe(kids[0]);
        expect((await storedKeys(fresh.url)).map((k) => k.kid)).toEqual([kids[0]]);
      } finally {
        for (const s of servers) if (s.status === 'fulfilled') await s.value.close();
        await fresh.drop();
      }
    },
  );
});

describe('COUNTERSIGN_RECEIPT_KEY', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('signs with the configured key (PEM, or the same key as a JWK) and stores nothing', async () => {
    const pem = ed25519Pem();
    const expectedJwk = createPublicKey(pem).export({ format: 'jwk' });
    const expectedKid = await calculateJwkThumbprint({
      kty: 'OKP',
      crv: 'Ed25519',
      x: String(expectedJwk.x),
    });
    const privateJwk = JSON.stringify(createPrivateKey(pem).export({ format: 'jwk' }));
    for (const setting of [pem, privateJwk]) {
      const t = await startTestServer({ database, env: { COUNTERSIGN_RECEIPT_KEY: setting } });
      try {
        const jwks = await fetchJwks(t);
        expect(jwks.keys).toEqual([expect.objectContaining({ x: expectedJwk.x, kid: expectedKid })]);
        const { key } = await t.createKey();
        const created = await createApproval(t, key);
        const cancelled = await t.call<Approval>('POST', `/v1/approvals/${created.id}/cancel`, { key });
        const { protectedHeader } = await verifyReceipt(String(cancelled.body.receipt), {
          keys: [{ ...expectedJwk, kid: expectedKid }],
        });
        expect(protectedHeader.kid).toBe(expectedKid);
      } finally {
        await t.close();
      }
    }
    expect(await storedKeys(database.url)).toEqual([]);
  });

  it.each([
    ['text that is no key', 'definitely-not-a-key'],
    [
      'an RSA key',
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
    ],
    [
      'a public key',
      generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    ],
  ])('stops start-up when it is %s, naming the variable and storing nothing', async (_name, setting) => {
    const outcome = await startTestServer({ database, env: { COUNTERSIGN_RECEIPT_KEY: setting } }).then(
      async (t) => {
        await t.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(ConfigError);
    expect(String(outcome)).toMatch(/COUNTERSIGN_RECEIPT_KEY: must be an Ed25519 private key/);
    expect(String(outcome)).not.toContain(setting.slice(0, 40));
    expect(await storedKeys(database.url)).toEqual([]);
  });
});
