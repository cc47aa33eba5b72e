// Standard Webhooks headers for verdict callbacks (https://www.standardwebhooks.com): webhook-id is
// the delivery's id (the same on every retry, so receivers can drop duplicates), webhook-timestamp
// the attempt's unix seconds, and webhook-signature `v1,<base64 HMAC-SHA256 over id.timestamp.body>`
// keyed with the decoded bytes of the client's `whsec_` secret, then (space-separated, as the
// specification lists several) `v1a,<base64 Ed25519 signature over the same content>` made with the
// receipt key, whose public half GET /v1/keys/receipt publishes. Any Standard Webhooks verifier
// accepts these callbacks; Countersign-Signature is sent beside them, unchanged.
import { createHmac } from 'node:crypto';

export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

const SECRET_PREFIX = 'whsec_';

/** The secret's key bytes: the base64 after `whsec_`. Throws on anything else. */
export function webhookSecretBytes(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('a webhook secret is whsec_ and base64');
  const bytes = Buffer.from(encoded, 'base64');
  // The specification asks for 24 to 64 random bytes.
  if (bytes.length < 24 || bytes.length > 64) throw new Error('a webhook secret holds 24 to 64 bytes');
  return bytes;
}

export interface StandardWebhookInput {
  /** The delivery id; must not contain `.` (it separates the signed parts). */
  id: string;
  /** The client's `whsec_` secret. */
  secret: string;
  /** The exact body bytes sent. */
  body: string;
  now: Date;
  /** Signs the signed content with Ed25519 (the receipt key) for the `v1a` signature; base64. */
  signAsymmetric?: (content: string) => string;
}

/** The three Standard Webhooks headers for one attempt. */
export function standardWebhookHeaders(input: StandardWebhookInput): Record<string, string> {
  if (input.id.includes('.')) throw new Error('a webhook id must not contain "."');
  const timestamp = Math.floor(input.now.getTime() / 1000);
  const content = `${input.id}.${timestamp}.${input.body}`;
  const signatures = [
    `v1,${createHmac('sha256', webhookSecretBytes(input.secret)).update(content).digest('base64')}`,
  ];
  if (input.signAsymmetric) signatures.push(`v1a,${input.signAsymmetric(content)}`);
  return {
    [WEBHOOK_ID_HEADER]: input.id,
    [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
    [WEBHOOK_SIGNATURE_HEADER]: signatures.join(' '),
  };
}
