// The Ed25519 receipt signing key: parsed from COUNTERSIGN_RECEIPT_KEY (PKCS#8 PEM, that PEM
// base64-encoded on one line, or a private JWK), generated, or rebuilt from a stored private JWK.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../config-error.ts';

/** The public half as a JWK (RFC 8037). */
export const publicJwkSchema = z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string() });
export type PublicJwk = z.infer<typeof publicJwkSchema>;

export const privateJwkSchema = publicJwkSchema.extend({ d: z.string() });
export type PrivateJwk = z.infer<typeof privateJwkSchema>;

/**
 * A loaded key. The private half stays a KeyObject (it serialises to `{}` if ever logged); only
 * the store that keeps a generated key exports it, through `exportPrivateJwk`.
 */
export interface ReceiptKey {
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. */
  kid: string;
  publicJwk: PublicJwk;
  privateKey: KeyObject;
}

const SETTING = 'COUNTERSIGN_RECEIPT_KEY';
const EXPECTED = 'must be an Ed25519 private key: a PKCS#8 PEM, that PEM base64-encoded, or a private JWK';

/** RFC 7638: SHA-256 over the required members (crv, kty, x) in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: PublicJwk): string {
  const required = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(required).digest('base64url');
}

/** Builds a ReceiptKey from an Ed25519 private KeyObject; throws if it is anything else. */
export function receiptKeyFromPrivateKey(privateKey: KeyObject): ReceiptKey {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `expected an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? privateKey.type}`,
    );
  }
  const publicJwk = publicJwkSchema.parse(createPublicKey(privateKey).export({ format: 'jwk' }));
  return { kid: jwkThumbprint(publicJwk), publicJwk, privateKey };
}

export function generateReceiptKey(): ReceiptKey {
  return receiptKeyFromPrivateKey(generateKeyPairSync('ed25519').privateKey);
}

export function receiptKeyFromJwk(jwk: PrivateJwk): ReceiptKey {
  return receiptKeyFromPrivateKey(createPrivateKey({ key: jwk, format: 'jwk' }));
}

export function exportPrivateJwk(key: ReceiptKey): PrivateJwk {
  return privateJwkSchema.parse(key.privateKey.export({ format: 'jwk' }));
}

/**
 * Parses the COUNTERSIGN_RECEIPT_KEY setting. Throws ConfigError naming the variable, and never
 * echoing its value, when it is not an Ed25519 private key in one of the accepted forms.
 */
export function parseReceiptKeySetting(value: string, setting: string = SETTING): ReceiptKey {
  let privateKey: KeyObject;
  try {
    privateKey = readPrivateKey(value.trim());
  } catch {
    throw new ConfigError([`${setting}: ${EXPECTED}; the value could not be read as one`]);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError([
      `${setting}: ${EXPECTED}; got a ${privateKey.asymmetricKeyType ?? 'non-asymmetric'} key`,
    ]);
  }
  return receiptKeyFromPrivateKey(privateKey);
}

function readPrivateKey(text: string): KeyObject {
  if (text.startsWith('{')) {
    const jwk = privateJwkSchema.parse(JSON.parse(text));
    return createPrivateKey({ key: jwk, format: 'jwk' });
  }
  // Env files often carry a PEM on one line with literal "\n" escapes.
  const pem = text.startsWith('-----BEGIN')
    ? text.replaceAll('\\n', '\n')
    : Buffer.from(text, 'base64').toString('utf8').trim();
  if (!pem.startsWith('-----BEGIN')) throw new Error('not a PEM');
  return createPrivateKey({ key: pem, format: 'pem' });
}
