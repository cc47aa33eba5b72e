// Generation and hashing of API keys and callback secrets. Keys carry 256 random bits, so a
// single SHA-256 is enough to store them: there is nothing to brute-force.
import { createHash, createHmac, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'cs_';
/** Characters of the key kept in clear for listings: the `cs_` marker and 8 random ones. */
const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 8;

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function generateCallbackSecret(): string {
  return 'cbsec_' + randomBytes(32).toString('base64url');
}

/**
 * The client's Standard Webhooks secret (`whsec_` + base64 of 32 bytes), derived from its callback
 * secret so that one stored secret signs both callback signatures. HMAC-SHA256 is one-way: the
 * webhook secret does not reveal the callback secret.
 */
export function deriveWebhookSecret(callbackSecret: string): string {
  const bytes = createHmac('sha256', callbackSecret).update('countersign standard-webhooks v1').digest();
  return 'whsec_' + bytes.toString('base64');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}
