// A remembered signature answers exactly as a fresh check would: only the very signature over the
// very text, under a key still registered, is taken as valid without verifying it again.
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateReceiptKey } from '../receipts/receipt-key.ts';
import {
  createEventSigner,
  rememberedSignatureProblem,
  signatureProblem,
  type EventKeys,
} from './event-key.ts';

const key = generateReceiptKey();
const signer = createEventSigner(key);
const registered: EventKeys = {
  keys: new Map([[key.kid, createPublicKey({ key: key.publicJwk, format: 'jwk' })]]),
  signedFrom: 1n,
};
const none: EventKeys = { keys: new Map(), signedFrom: 1n };

describe('rememberedSignatureProblem', () => {
  const text = JSON.stringify({ type: 'decision.recorded', payload: { verdict: 'approve' } });
  const signature = signer.sign(text);

  it('accepts a valid signature, again and again', () => {
    expect(rememberedSignatureProblem(registered, text, signature)).toBeNull();
    expect(rememberedSignatureProblem(registered, text, signature)).toBeNull();
  });

  it('refuses the remembered signature over a changed text', () => {
    expect(rememberedSignatureProblem(registered, text, signature)).toBeNull();
    const changed = text.replace('approve', 'deny');
    expect(rememberedSignatureProblem(registered, changed, signature)).toBe(
      signatureProblem(registered, changed, signature),
    );
    expect(rememberedSignatureProblem(registered, changed, signature)).toMatch(/does not verify/);
  });

  it('refuses the remembered signature once its key is no longer registered', () => {
    expect(rememberedSignatureProblem(registered, text, signature)).toBeNull();
    expect(rememberedSignatureProblem(none, text, signature)).toMatch(/is not a registered event key/);
  });

  it('refuses another key with the same signature bytes, and no signature', () => {
    const other = generateReceiptKey();
    const otherKeys: EventKeys = {
      keys: new Map([[other.kid, createPublicKey({ key: other.publicJwk, format: 'jwk' })]]),
      signedFrom: 1n,
    };
    const relabelled = `${other.kid}${signature.slice(signature.indexOf('.'))}`;
    expect(rememberedSignatureProblem(otherKeys, text, relabelled)).toMatch(/does not verify/);
    expect(rememberedSignatureProblem(registered, text, null)).toBe('it carries no signature');
    expect(rememberedSignatureProblem(registered, text, 'no-dot')).toMatch(/not a registered event key/);
  });
});
