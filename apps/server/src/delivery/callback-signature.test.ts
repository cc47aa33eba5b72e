// Callback signatures (spec §3.8): what signCallback writes and what verifyCallbackSignature accepts,
// with the clock injected so tolerance is tested without waiting.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOLERANCE_SECONDS, signCallback, verifyCallbackSignature } from './callback-signature.ts';

const SECRET = 'whsec_test_7f3a9c1e5b2d4f6a8c0e';
const BODY = JSON.stringify({ type: 'approval.decided', approval: { id: 'a1', status: 'approved' } });
const SIGNED_AT = new Date('2030-01-01T09:00:00.000Z');
const T = Math.floor(SIGNED_AT.getTime() / 1000);

const v1 = (secret: string, timestamp: number, body: string) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

const verify = (
  header: string | null | undefined,
  options: { body?: string; secret?: string; now?: Date } = {},
) =>
  verifyCallbackSignature({
    rawBody: options.body ?? BODY,
    header,
    secret: options.secret ?? SECRET,
    now: options.now ?? SIGNED_AT,
  });

describe('signCallback', () => {
  it('writes t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>', () => {
    expect(signCallback(SECRET, BODY, SIGNED_AT)).toBe(`t=${T},v1=${v1(SECRET, T, BODY)}`);
  });
});

describe('verifyCallbackSignature', () => {
  const header = signCallback(SECRET, BODY, SIGNED_AT);

  it('accepts a valid signature and returns its timestamp', () => {
    expect(verify(header)).toEqual({ valid: true, timestamp: T });
  });

  it('accepts a signature checked a little later, within the tolerance', () => {
    const later = new Date(SIGNED_AT.getTime() + (DEFAULT_TOLERANCE_SECONDS - 1) * 1000);
    expect(verify(header, { now: later })).toEqual({ valid: true, timestamp: T });
  });

  it('refuses the right signature checked with the wrong secret', () => {
    expect(verify(header, { secret: 'whsec_someone_else' })).toEqual({
      valid: false,
      reason: 'signature does not match',
    });
  });

  it('refuses a tampered body, even a change of one character or of whitespace only', () => {
    const tampered = BODY.replace('approved', 'denied!!');
    expect(verify(header, { body: tampered })).toEqual({ valid: false, reason: 'signature does not match' });
    // Re-serialised JSON is not the raw body: receivers must verify the bytes they received.
    const reformatted = JSON.stringify(JSON.parse(BODY), null, 2);
    expect(verify(header, { body: reformatted }).valid).toBe(false);
  });

  it('refuses a timestamp outside the 5-minute tolerance, in the past or the future', () => {
    const tooLate = new Date(SIGNED_AT.getTime() + (DEFAULT_TOLERANCE_SECONDS + 1) * 1000);
    const tooEarly = new Date(SIGNED_AT.getTime() - (DEFAULT_TOLERANCE_SECONDS + 1) * 1000);
    expect(DEFAULT_TOLERANCE_SECONDS).toBe(300);
    for (const now of [tooLate, tooEarly]) {
      expect(verify(header, { now })).toEqual({ valid: false, reason: 'timestamp outside the tolerance' });
    }
  });

  it('honours a custom tolerance', () => {
    const now = new Date(SIGNED_AT.getTime() + 60_000);
    expect(
      verifyCallbackSignature({ rawBody: BODY, header, secret: SECRET, now, toleranceSeconds: 30 }),
    ).toEqual({ valid: false, reason: 'timestamp outside the tolerance' });
  });

  it('refuses a replay whose timestamp was changed to look fresh', () => {
    const replayed = header.replace(`t=${T}`, `t=${T + 600}`);
    const now = new Date((T + 600) * 1000);
    expect(verify(replayed, { now })).toEqual({ valid: false, reason: 'signature does not match' });
  });

  it('refuses a missing header', () => {
    for (const missing of [undefined, null, '']) {
      expect(verify(missing)).toEqual({ valid: false, reason: 'missing signature header' });
    }
  });

  it.each([
    ['no v1', `t=${T}`],
    ['no timestamp', `v1=${v1(SECRET, T, BODY)}`],
    ['a timestamp that is not a number', `t=soon,v1=${v1(SECRET, T, BODY)}`],
    ['a fractional timestamp', `t=${T}.5,v1=${v1(SECRET, T, BODY)}`],
    ['a part without "="', `t=${T},${v1(SECRET, T, BODY)}`],
    ['a part with an empty name', `t=${T},=${v1(SECRET, T, BODY)}`],
    ['garbage', 'not a signature'],
  ])('refuses a malformed header: %s', (_name, malformed) => {
    expect(verify(malformed)).toEqual({ valid: false, reason: 'malformed signature header' });
  });

  it('refuses a v1 value that is not the right hex, without throwing', () => {
    for (const bad of ['zz', '', 'abcd', v1(SECRET, T, BODY).slice(0, -2)]) {
      expect(verify(`t=${T},v1=${bad}`)).toEqual({ valid: false, reason: 'signature does not match' });
    }
  });

  it('accepts a header carrying several v1 values when one of them matches (secret rotation)', () => {
    const rotated = `t=${T},v1=${v1('whsec_old_secret', T, BODY)},v1=${v1(SECRET, T, BODY)}`;
    expect(verify(rotated)).toEqual({ valid: true, timestamp: T });
    const reversed = `t=${T},v1=${v1(SECRET, T, BODY)},v1=${v1('whsec_old_secret', T, BODY)}`;
    expect(verify(reversed)).toEqual({ valid: true, timestamp: T });
  });

  it('refuses a header with several v1 values when none matches', () => {
    const none = `t=${T},v1=${v1('whsec_a', T, BODY)},v1=${v1('whsec_b', T, BODY)}`;
    expect(verify(none)).toEqual({ valid: false, reason: 'signature does not match' });
  });

  it('ignores unknown schemes and spaces around parts', () => {
    const extended = `t=${T}, v0=deadbeef, v1=${v1(SECRET, T, BODY)}`;
    expect(verify(extended)).toEqual({ valid: true, timestamp: T });
  });
});
