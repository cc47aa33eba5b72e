// One event-signing key for every test process: the test server is configured with it
// (COUNTERSIGN_EVENT_KEY), use-case tests sign with it and register it in the databases they
// migrate, and child processes (decision workers) derive the same key from the same seed.
import { createPrivateKey } from 'node:crypto';
import type pg from 'pg';
import { registerEventKey } from '../../apps/server/src/audit/chain-store.ts';
import { createEventSigner, type EventSigner } from '../../apps/server/src/audit/event-key.ts';
import { exportPrivateJwk, receiptKeyFromPrivateKey } from '../../apps/server/src/receipts/receipt-key.ts';

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = '302e020100300506032b657004220420';
const SEED = '7e57'.repeat(16);

export const TEST_EVENT_KEY = receiptKeyFromPrivateKey(
  createPrivateKey({ key: Buffer.from(ED25519_PKCS8_PREFIX + SEED, 'hex'), format: 'der', type: 'pkcs8' }),
);

/** The COUNTERSIGN_EVENT_KEY value for a test server (a private JWK). */
export const TEST_EVENT_KEY_SETTING = JSON.stringify(exportPrivateJwk(TEST_EVENT_KEY));

export function testEventSigner(): EventSigner {
  return createEventSigner(TEST_EVENT_KEY);
}

/** Registers the test key's public half, as the server does at start-up (run as the owner). */
export function registerTestEventKey(client: pg.ClientBase): Promise<void> {
  return registerEventKey(client, TEST_EVENT_KEY);
}
