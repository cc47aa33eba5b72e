// The payload digest (spec §3.7): SHA-256 over the canonical JSON (sorted keys, no whitespace) of
// the unmasked {action, context}, written "sha256:<hex>". The canonicalisation is written again
// here, independently, because executors must be able to recompute it without our code.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../audit/canonical-json.ts';
import { maskContext } from './masking.ts';
import { payloadDigest } from './payload-digest.ts';

/** Recursive key sort, then plain JSON.stringify (which writes no whitespace). */
function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function independentDigest(action: string, context: unknown): string {
  return (
    'sha256:' +
    createHash('sha256')
      .update(JSON.stringify(sortKeysDeep({ action, context })))
      .digest('hex')
  );
}

describe('payloadDigest', () => {
  it('matches a digest computed outside the code: sha256sum of the canonical form', () => {
    // printf '%s' '{"action":"db.export","context":{"a":1,"b":[2,{"c":3}]}}' | sha256sum
    const expected = 'sha256:99270698abc515dabc96cafe03b2c652b79e4fcffcbb7dbcf827ddcdfc8d10fb';
    expect(payloadDigest('db.export', { a: 1, b: [2, { c: 3 }] })).toBe(expected);
    // The same payload with its keys in another order.
    expect(payloadDigest('db.export', { b: [2, { c: 3 }], a: 1 })).toBe(expected);
    expect(canonicalJson({ context: { b: [2, { c: 3 }], a: 1 }, action: 'db.export' })).toBe(
      '{"action":"db.export","context":{"a":1,"b":[2,{"c":3}]}}',
    );
  });

  it('equals the independently computed digest of the spec example', () => {
    const context = {
      table: 'users',
      rows: 120000,
      destination: 's3://analytics/export',
      token: 'sk-live-abc123',
    };
    expect(payloadDigest('db.export', context)).toBe(independentDigest('db.export', context));
  });

  it('equals the independent digest for nested objects, arrays, unicode, numbers, booleans and null', () => {
    const context = {
      z: { y: [3, 2, 1], x: { w: null, v: true } },
      'Z-upper': -1.5e-7,
      a: ['é', '日本', '"quoted"\n', { b: false, a: 0 }],
      '': 'empty key',
      emoji: '🙂',
      big: 12345678901234,
    };
    expect(payloadDigest('iam.role.grant', context)).toBe(independentDigest('iam.role.grant', context));
    expect(payloadDigest('iam.role.grant', context)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('is the same whatever the key order at every depth', () => {
    const one = { a: 1, b: { c: 2, d: [{ e: 3, f: 4 }] } };
    const two = { b: { d: [{ f: 4, e: 3 }], c: 2 }, a: 1 };
    expect(payloadDigest('x', one)).toBe(payloadDigest('x', two));
  });

  it('changes with any change to the action or the context (arrays keep their order)', () => {
    const base = payloadDigest('db.export', { a: 1, list: [1, 2] });
    expect(payloadDigest('db.export.s3', { a: 1, list: [1, 2] })).not.toBe(base);
    expect(payloadDigest('db.export', { a: 2, list: [1, 2] })).not.toBe(base);
    expect(payloadDigest('db.export', { a: '1', list: [1, 2] })).not.toBe(base);
    expect(payloadDigest('db.export', { a: 1, list: [2, 1] })).not.toBe(base);
    expect(payloadDigest('db.export', { a: 1, list: [1, 2], extra: null })).not.toBe(base);
  });

  it('is taken over the unmasked context: masking the context gives another digest', () => {
    const context = { token: 'sk-live-abc123', destination: 's3://analytics/export' };
    const masked = maskContext(context, ['/destination']);
    expect(masked).not.toEqual(context);
    expect(payloadDigest('db.export', masked)).not.toBe(payloadDigest('db.export', context));
    expect(payloadDigest('db.export', context)).toBe(independentDigest('db.export', context));
  });
});
