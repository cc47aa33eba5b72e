// The event-signing key: an Ed25519 key that signs every audit event changing a request's state,
// so that an event appended through the database (by anyone holding a database login) but not by
// the server is evident. The private half comes from the server's configuration
// (COUNTERSIGN_EVENT_KEY, or the file COUNTERSIGN_EVENT_KEY_FILE names) and is never written to
// the database; only the public half is registered there, by the owner, for verifiers.
import { createPublicKey, hash, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../config-error.ts';
import type { Logger } from '../observability/logger.ts';
import {
  generateReceiptKey,
  jwkThumbprint,
  parseReceiptKeySetting,
  publicJwkSchema,
  type PublicJwk,
  type ReceiptKey,
} from '../receipts/receipt-key.ts';

/** Signs the canonical JSON of an event; the private key is captured here and nowhere else. */
export interface EventSigner {
  kid: string;
  /** `kid.signature` (base64url), as stored in audit_events.signature. */
  sign(canonical: string): string;
}

export function createEventSigner(key: ReceiptKey): EventSigner {
  const { kid, privateKey } = key;
  return {
    kid,
    sign: (canonical) =>
      `${kid}.${sign(null, Buffer.from(canonical, 'utf8'), privateKey).toString('base64url')}`,
  };
}

export interface LoadEventKeyInput {
  setting: string | undefined;
  file: string | undefined;
  log: Logger;
}

/** From COUNTERSIGN_EVENT_KEY or COUNTERSIGN_EVENT_KEY_FILE; generated for this start when neither is set. */
export async function loadEventKey({ setting, file, log }: LoadEventKeyInput): Promise<ReceiptKey> {
  if (setting !== undefined && file !== undefined)
    throw new ConfigError(['COUNTERSIGN_EVENT_KEY and COUNTERSIGN_EVENT_KEY_FILE: set one, not both']);
  if (setting !== undefined) {
    const key = parseReceiptKeySetting(setting, 'COUNTERSIGN_EVENT_KEY');
    log.info({ kid: key.kid, source: 'COUNTERSIGN_EVENT_KEY' }, 'event signing key loaded');
    return key;
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
      throw new ConfigError([`COUNTERSIGN_EVENT_KEY_FILE: cannot read ${file} (${reason})`]);
    }
    const key = parseReceiptKeySetting(text, 'COUNTERSIGN_EVENT_KEY_FILE');
    log.info({ kid: key.kid, source: 'COUNTERSIGN_EVENT_KEY_FILE' }, 'event signing key loaded');
    return key;
  }
  const key = generateReceiptKey();
  log.warn(
    { kid: key.kid, source: 'generated' },
    'event signing key generated for this start (set COUNTERSIGN_EVENT_KEY or COUNTERSIGN_EVENT_KEY_FILE to keep one key across restarts and replicas)',
  );
  return key;
}

// Registering the public half (as the owner) is a write of the chain store's.

const storedKey = z.object({ kid: z.string(), public_jwk: publicJwkSchema });
/** Built once: a zod schema built per call is compiled again on its first parse (every view, every row). */
const signingStartRow = z.object({ seq: z.string() });

/** The registered public keys by kid; a row whose kid is not its key's thumbprint is left out. */
export interface EventKeys {
  keys: Map<string, KeyObject>;
  /** The first seq from which state-changing events must be signed. */
  signedFrom: bigint;
}

/**
 * The keys from the rows readEventKeyRows (chain-store.ts) reads: `keyRows` as they are, `start`
 * the first of its signing rows.
 */
export function eventKeysFrom(keyRows: readonly unknown[], start: unknown): EventKeys {
  const keys = new Map<string, KeyObject>();
  for (const row of keyRows) {
    const parsed = storedKey.safeParse(row);
    if (!parsed.success || jwkThumbprint(parsed.data.public_jwk) !== parsed.data.kid) continue;
    keys.set(parsed.data.kid, publicKeyOf(parsed.data.public_jwk));
  }
  const seq = signingStartRow.safeParse(start);
  return { keys, signedFrom: seq.success ? BigInt(seq.data.seq) : 1n };
}

function publicKeyOf(jwk: PublicJwk): KeyObject {
  return createPublicKey({ key: jwk, format: 'jwk' });
}

/** Events that change a request's state: each must carry the server's signature. */
export const SIGNED_EVENT_TYPES: ReadonlySet<string> = new Set([
  'request.created',
  'decision.recorded',
  'request.approved',
  'request.denied',
  'request.expired',
  'request.cancelled',
  'request.executed',
  // Adds approvers: who may decide is read from the chain, so this must be the server's own.
  'request.escalated',
]);

/** Null when `signature` is the server's over `canonical`, else why not. */
export function signatureProblem(
  keys: EventKeys,
  canonical: string,
  signature: string | null,
): string | null {
  if (signature === null) return 'it carries no signature';
  const dot = signature.indexOf('.');
  const kid = signature.slice(0, dot);
  const key = dot > 0 ? keys.keys.get(kid) : undefined;
  if (!key) return `its signing key ${kid || '(none)'} is not a registered event key`;
  const bytes = Buffer.from(signature.slice(dot + 1), 'base64url');
  return verify(null, Buffer.from(canonical, 'utf8'), key, bytes)
    ? null
    : `its signature does not verify against event key ${kid}`;
}

/** How many valid signatures a process remembers (about 200 bytes each); the oldest go first. */
const REMEMBERED_SIGNATURES = 10_000;
const rememberedValid = new Set<string>();

/**
 * signatureProblem for the events a request view reads again and again (every card flush, callback
 * and long-poll of a request verifies its events): a signature found valid is remembered by the
 * signature itself (its key id included, which names the public key by its thumbprint) and the
 * digest of the text it signs, since whether it verifies depends on nothing else. A changed text,
 * another signature or a key no longer registered is checked as if never seen.
 */
export function rememberedSignatureProblem(
  keys: EventKeys,
  canonical: string,
  signature: string | null,
): string | null {
  const kid = signature?.slice(0, Math.max(signature.indexOf('.'), 0));
  if (signature === null || !kid || !keys.keys.has(kid)) return signatureProblem(keys, canonical, signature);
  const memo = `${signature}:${hash('sha256', canonical, 'base64url')}`;
  if (rememberedValid.has(memo)) return null;
  const why = signatureProblem(keys, canonical, signature);
  if (why === null) {
    rememberedValid.add(memo);
    if (rememberedValid.size > REMEMBERED_SIGNATURES) {
      const oldest = rememberedValid.values().next();
      if (!oldest.done) rememberedValid.delete(oldest.value);
    }
  }
  return why;
}
