// The payload digest binds an approval to exactly what was asked: SHA-256 over the canonical JSON
// of the unmasked {action, context}, written as "sha256:<hex>".
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

export function payloadDigest(action: string, context: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson({ action, context })).digest('hex');
}
