// Receipts: exactly what is signed, the JWS header, and that the JWKS verifies them.
import { CompactSign, compactVerify, createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { chainOfRow } from '../../../../test/support/receipt-chain.ts';
import type { RequestWithDecisions } from '../approvals/find-request.ts';
import { generateReceiptKey } from './receipt-key.ts';
import {
  CHECKPOINT_TYPE,
  EVIDENCE_MANIFEST_TYPE,
  createReceiptSigner,
  receiptPayload,
  RECEIPT_TYPE,
  type ReceiptSigner,
  type VerdictEvent,
} from './sign-receipt.ts';

/** Signs the receipt of a fixture row, through the chain record it stands for. */
function signRow(signer: ReceiptSigner, row: RequestWithDecisions, event: VerdictEvent) {
  return signer.sign(row.id, chainOfRow(row, event));
}

function payloadOfRow(row: RequestWithDecisions, event: VerdictEvent) {
  return receiptPayload(row.id, chainOfRow(row, event));
}

const verdictEvent: VerdictEvent = { seq: '3', hash: 'cd'.repeat(32) };

function request(overrides: Partial<RequestWithDecisions> = {}): RequestWithDecisions {
  const createdAt = new Date('2026-11-21T10:00:00.000Z');
  return {
    id: '0b6f7a52-3d3e-4c43-9f5e-2f8f2b0c1a11',
    clientId: '5a0c1d2e-0000-4000-8000-000000000001',
    status: 'approved',
    action: 'db.export',
    title: 'Export users',
    reason: null,
    requesterEmail: 'alice@example.com',
    requesterName: null,
    requesterProof: null,
    agent: null,
    context: { table: 'users', token: '••••c123' },
    payloadDigest: 'sha256:' + 'ab'.repeat(32),
    approvers: [],
    anyApprover: true,
    agentOwner: null,
    quorum: 1,
    denyQuorum: 1,
    policyRule: null,
    denyReasonRequired: false,
    grantUpTo: null,
    channel: null,
    channels: [],
    callbackUrl: null,
    idempotencyKey: null,
    requestHash: 'not-used',
    createdAt,
    expiresAt: new Date('2026-11-21T11:00:00.000Z'),
    decidedAt: new Date('2026-11-21T10:00:03.000Z'),
    breakGlass: null,
    chatCards: [],
    decisions: [
      {
        id: '7c1e2d3f-0000-4000-8000-000000000002',
        requestId: '0b6f7a52-3d3e-4c43-9f5e-2f8f2b0c1a11',
        approverEmail: 'bob@example.com',
        onBehalfOf: null,
        platform: 'slack',
        platformUserId: 'U0BOB',
        displayName: 'Bob',
        verdict: 'approve',
        reason: null,
        createdAt: new Date('2026-11-21T10:00:03.000Z'),
        devSignin: false,
        grantMinutes: null,
      },
    ],
    ...overrides,
  };
}

describe('receiptPayload', () => {
  it('is exactly {id, action, payloadDigest, status, decisions, decidedAt, verdictEvent, requester, agent}', () => {
    expect(payloadOfRow(request(), verdictEvent)).toStrictEqual({
      id: '0b6f7a52-3d3e-4c43-9f5e-2f8f2b0c1a11',
      action: 'db.export',
      payloadDigest: 'sha256:' + 'ab'.repeat(32),
      status: 'approved',
      decisions: [
        {
          approver: 'bob@example.com',
          platform: 'slack',
          verdict: 'approve',
          reason: null,
          at: '2026-11-21T10:00:03.000Z',
        },
      ],
      decidedAt: '2026-11-21T10:00:03.000Z',
      verdictEvent: { seq: '3', hash: 'cd'.repeat(32) },
      requester: { email: 'alice@example.com', name: null, proof: null, shown: 'claimed' },
      agent: null,
    });
  });

  it('names the requester with its proof, as every door shows it', () => {
    const proof = {
      kind: 'workload' as const,
      provider: 'github-actions',
      issuer: 'https://token.actions.githubusercontent.com',
      subject: 'repo:org/repo:ref:refs/heads/main',
      login: 'alice',
      repository: 'org/repo',
      runId: '123',
      keyName: 'ci',
    };
    expect(payloadOfRow(request({ requesterProof: proof }), verdictEvent)?.requester).toStrictEqual({
      email: 'alice@example.com',
      name: null,
      proof,
      shown: 'proven (github-actions: alice / org/repo / run 123)',
    });
    expect(
      payloadOfRow(request({ requesterProof: { kind: 'claimed', keyName: 'laptop' } }), verdictEvent)
        ?.requester.shown,
    ).toBe('claimed by key laptop');
  });

  it('states the requester with its proof and the agent, as the chain recorded them', () => {
    const proof = { kind: 'key', keyName: 'deploy-bot' };
    const agent = { name: 'release-bot', model: 'm-1', runId: 'run-9' };
    const payload = payloadOfRow(
      request({ requesterName: 'Alice', requesterProof: proof, agent }),
      verdictEvent,
    );
    expect(payload?.requester).toStrictEqual({
      email: 'alice@example.com',
      name: 'Alice',
      proof,
      shown: 'bound to key deploy-bot',
    });
    expect(payload?.agent).toStrictEqual(agent);
  });

  it('is null while the request is pending', () => {
    expect(
      payloadOfRow(request({ status: 'pending', decidedAt: null, decisions: [] }), verdictEvent),
    ).toBeNull();
  });
});

describe('createReceiptSigner', () => {
  const key = generateReceiptKey();
  const signer = createReceiptSigner(key);

  it('signs an EdDSA compact JWS that the JWKS verifies, with kid and typ in the header', async () => {
    const receipt = await signRow(signer, request({ status: 'cancelled', decisions: [] }), verdictEvent);
    expect(receipt).toEqual(expect.any(String));
    const { payload, protectedHeader } = await jwtVerify(String(receipt), createLocalJWKSet(signer.jwks()), {
      algorithms: ['EdDSA'],
      typ: RECEIPT_TYPE,
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: key.kid, typ: RECEIPT_TYPE });
    expect(payload).toStrictEqual(
      payloadOfRow(request({ status: 'cancelled', decisions: [] }), verdictEvent),
    );
  });

  it('gives the same receipt for the same request (Ed25519 is deterministic)', async () => {
    expect(await signRow(signer, request(), verdictEvent)).toBe(
      await signRow(signer, request(), verdictEvent),
    );
  });

  it('writes each JWS byte for byte as jose does (Ed25519 is deterministic)', async () => {
    const joseSign = (payload: string, typ: string) =>
      new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ })
        .sign(key.privateKey);
    const row = request();
    const receiptPayload = JSON.stringify(payloadOfRow(row, verdictEvent));
    expect(await signRow(signer, row, verdictEvent)).toBe(await joseSign(receiptPayload, RECEIPT_TYPE));
    const statement = { seq: '7', hash: 'ab'.repeat(32), at: '2026-12-08T00:00:00.000Z', eventKeys: ['k1'] };
    expect(await signer.signCheckpoint(statement)).toBe(
      await joseSign(JSON.stringify(statement), CHECKPOINT_TYPE),
    );
    const manifest = '{"files":[]}\n';
    expect(await signer.signEvidenceManifest(manifest)).toBe(
      await joseSign(manifest, EVIDENCE_MANIFEST_TYPE),
    );
  });

  it('gives no receipt for a pending request', async () => {
    expect(await signRow(signer, request({ status: 'pending', decidedAt: null }), verdictEvent)).toBeNull();
  });

  it('publishes only the public key, and a receipt of another key does not verify', async () => {
    const jwks = signer.jwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toStrictEqual({ ...key.publicJwk, kid: key.kid, alg: 'EdDSA', use: 'sig' });
    expect(JSON.stringify(jwks)).not.toContain('"d"');
    const other = createReceiptSigner(generateReceiptKey());
    const forged = String(await signRow(other, request(), verdictEvent));
    await expect(compactVerify(forged, createLocalJWKSet(jwks))).rejects.toThrow();
  });

  it('signs a checkpoint of the chain head as its own JWS type, verifiable with the same JWKS', async () => {
    const statement = { seq: '42', hash: 'ef'.repeat(32), at: '2026-11-21T12:00:00.000Z' };
    const jws = await signer.signCheckpoint(statement);
    const { payload, protectedHeader } = await jwtVerify(jws, createLocalJWKSet(signer.jwks()), {
      algorithms: ['EdDSA'],
      typ: CHECKPOINT_TYPE,
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: key.kid, typ: CHECKPOINT_TYPE });
    expect(payload).toStrictEqual(statement);
  });
});
