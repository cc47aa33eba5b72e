// The executor's receipt check: a receipt that verifies but approves something else is refused.
import { describe, expect, it } from 'vitest';
import { chainOfRow } from '../../../../test/support/receipt-chain.ts';
import { payloadDigest } from './payload-digest.ts';
import type { RequestWithDecisions } from './find-request.ts';
import { generateReceiptKey } from '../receipts/receipt-key.ts';
import { createReceiptSigner, type ReceiptSigner, type VerdictEvent } from '../receipts/sign-receipt.ts';
import { ReceiptCheckError, verifyReceipt } from './check-receipt.ts';

/** Signs the receipt of a fixture row, through the chain record it stands for. */
function signRow(signer: ReceiptSigner, row: RequestWithDecisions, event: VerdictEvent) {
  return signer.sign(row.id, chainOfRow(row, event));
}

const ID = '0b6f2a52-5f7e-4c55-9e55-3d4d1c1b2a10';
const CONTEXT = { table: 'users' };
const signer = createReceiptSigner(generateReceiptKey());

function request(overrides: Partial<RequestWithDecisions> = {}): RequestWithDecisions {
  return {
    id: ID,
    action: 'db.export',
    payloadDigest: payloadDigest('db.export', CONTEXT),
    status: 'approved',
    decidedAt: new Date('2030-01-01T10:00:00Z'),
    decisions: [],
    ...overrides,
  } as RequestWithDecisions;
}

/** The verdict event a receipt names (its seq and hash in the chain). */
const VERDICT_EVENT = { seq: '7', hash: 'ab'.repeat(32) };

const expected = { requestId: ID, action: 'db.export', context: CONTEXT };

describe('verifyReceipt', () => {
  it('returns the digest of the run when the receipt approves exactly it', async () => {
    const receipt = await signRow(signer, request(), VERDICT_EVENT);
    expect(await verifyReceipt(receipt ?? undefined, signer.jwks(), expected)).toBe(
      payloadDigest('db.export', CONTEXT),
    );
  });

  it.each([
    [
      'another payload',
      request({ payloadDigest: payloadDigest('db.export', { table: 'payments' }) }),
      /payload digest/,
    ],
    ['another action', request({ action: 'db.drop' }), /for action db\.drop/],
    ['another request', request({ id: '7d0f3a52-5f7e-4c55-9e55-3d4d1c1b2a10' }), /for request 7d0f/],
    ['a denial', request({ status: 'denied' }), /says denied/],
  ])('refuses a receipt for %s', async (_name, signed, message) => {
    const receipt = await signRow(signer, signed, VERDICT_EVENT);
    await expect(verifyReceipt(receipt ?? undefined, signer.jwks(), expected)).rejects.toThrow(message);
  });

  it('refuses a receipt signed by another key, and a missing receipt', async () => {
    const receipt = await signRow(createReceiptSigner(generateReceiptKey()), request(), VERDICT_EVENT);
    await expect(verifyReceipt(receipt ?? undefined, signer.jwks(), expected)).rejects.toThrow(
      ReceiptCheckError,
    );
    await expect(verifyReceipt(undefined, signer.jwks(), expected)).rejects.toThrow(/no receipt/);
  });
});
