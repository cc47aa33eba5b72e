// Reading COUNTERSIGN_RECEIPT_KEY: the accepted forms, the refused ones, and the kid (RFC 7638).
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import {
  exportPrivateJwk,
  generateReceiptKey,
  jwkThumbprint,
  parseReceiptKeySetting,
} from './receipt-key.ts';

function ed25519Pem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Runs `parse` and insists it throws a ConfigError (fails if nothing throws). */
function configErrorOf(parse: () => unknown): ConfigError {
  let thrown: unknown;
  try {
    parse();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

describe('parseReceiptKeySetting', () => {
  it('reads a PKCS#8 PEM, the PEM base64-encoded, the PEM with literal \\n escapes, and a private JWK', () => {
    const pem = ed25519Pem();
    const expected = parseReceiptKeySetting(pem);
    const forms = [
      Buffer.from(pem).toString('base64'),
      pem.trim().replaceAll('\n', '\\n'),
      JSON.stringify(exportPrivateJwk(expected)),
      `  ${pem}  `,
    ];
    for (const form of forms) {
      const key = parseReceiptKeySetting(form);
      expect(key.kid).toBe(expected.kid);
      expect(key.publicJwk).toEqual(expected.publicJwk);
    }
  });

  it.each([
    ['garbage', 'not a key at all'],
    ['an empty JSON object', '{}'],
    ['a public JWK (no d)', JSON.stringify(generateReceiptKey().publicJwk)],
    [
      'an Ed25519 public key PEM',
      generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    ],
    ['a truncated PEM', ed25519Pem().slice(0, 60)],
  ])('refuses %s, naming the variable but not echoing the value', (_name, value) => {
    const error = configErrorOf(() => parseReceiptKeySetting(value));
    expect(error.message).toContain('COUNTERSIGN_RECEIPT_KEY');
    expect(error.message).toContain('Ed25519');
    expect(error.message).not.toContain(value.trim().slice(0, 40));
  });

  it('refuses keys of another type, saying which', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    expect(configErrorOf(() => parseReceiptKeySetting(rsa)).message).toMatch(
      /COUNTERSIGN_RECEIPT_KEY.*got a rsa key/,
    );
    expect(configErrorOf(() => parseReceiptKeySetting(ec)).message).toMatch(
      /COUNTERSIGN_RECEIPT_KEY.*got a ec key/,
    );
  });
});

describe('kid', () => {
  it('is the RFC 7638 thumbprint of the public JWK, as jose computes it', async () => {
    const key = generateReceiptKey();
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk));
    expect(key.kid).toBe(jwkThumbprint(key.publicJwk));
  });

  it('matches the RFC 8037 appendix A.3 example', () => {
    const x = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
    expect(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x })).toBe(
      'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
    );
  });
});
