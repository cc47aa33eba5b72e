// Signing and verifying verdict callbacks: header `Countersign-Signature: t=<unix seconds>,v1=<hex>`
// where v1 = HMAC-SHA256(client callback secret, "<t>.<raw body>"). Receivers use
// verifyCallbackSignature; it is pure (clock injected) so it is easy to test and to copy.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Countersign-Signature';
export const DELIVERY_HEADER = 'Countersign-Delivery';
/** Signatures older or newer than this are refused by default, against replays. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

function hmac(secret: string, timestamp: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex');
}

export function signCallback(secret: string, rawBody: string, now: Date): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `t=${timestamp},v1=${hmac(secret, timestamp, rawBody)}`;
}

export interface VerifyCallbackOptions {
  /** The raw request body exactly as received (not re-serialised JSON). */
  rawBody: string;
  /** The Countersign-Signature header value. */
  header: string | null | undefined;
  /** The client's callback secret from `countersign keys create`. */
  secret: string;
  toleranceSeconds?: number;
  now?: Date;
}

export type VerifyCallbackResult = { valid: true; timestamp: number } | { valid: false; reason: string };

export function verifyCallbackSignature(options: VerifyCallbackOptions): VerifyCallbackResult {
  const { rawBody, header, secret } = options;
  if (!header) return { valid: false, reason: 'missing signature header' };
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const at = item.indexOf('=');
    if (at <= 0) return { valid: false, reason: 'malformed signature header' };
    const key = item.slice(0, at).trim();
    parts.set(key, [...(parts.get(key) ?? []), item.slice(at + 1).trim()]);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  const signatures = parts.get('v1') ?? [];
  if (!Number.isInteger(timestamp) || signatures.length === 0) {
    return { valid: false, reason: 'malformed signature header' };
  }
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    return { valid: false, reason: 'timestamp outside the tolerance' };
  }
  const expected = Buffer.from(hmac(secret, timestamp, rawBody), 'hex');
  const matches = signatures.some((candidate) => {
    if (!/^[0-9a-f]{64}$/i.test(candidate)) return false;
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { valid: true, timestamp } : { valid: false, reason: 'signature does not match' };
}
