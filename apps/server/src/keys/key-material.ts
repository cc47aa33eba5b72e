// Generation and hashing of API keys and callback secrets. Keys carry 256 random bits, so a
// single SHA-256 is enough to store them: there is nothing to brute-force.
import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'cs_';
/** Characters of the key kept in clear for listings: the `cs_` marker and 8 random ones. */
const DISPLAY_PREFIX_LENGTH = KEY_PREFIX.length + 8;

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function generateCallbackSecret(): string {
  return 'cbsec_' + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}
