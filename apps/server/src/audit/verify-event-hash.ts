// The chain hash of a stored event, recomputed for verification without the general canonicalJson:
// verification hashes every event, and building a key-sorted copy of each payload only for
// JSON.stringify to walk it again was a fifth of its CPU. The output is byte for byte what
// eventDigestInput writes for values read back from jsonb (plain objects, arrays, strings,
// numbers, booleans, null); verify-event-hash.test.ts holds the two to each other.
import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/** canonicalJson of a value that came out of JSON.parse. */
export function parsedCanonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += parsedCanonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    // canonicalJson's rebuilt object prints integer-like keys first (JSON.stringify's property
    // order) and drops `__proto__`: leave such rare objects to it rather than mimic both rules.
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === '__proto__') return canonicalJson(object);
    if (i > 0) out += ',';
    out += `${JSON.stringify(key)}:${parsedCanonicalJson(object[key])}`;
  }
  return `${out}}`;
}

export interface StoredEventFields {
  type: string;
  requestId: string | null;
  actor: string;
  payload: unknown;
  /** occurredAt.toISOString() */
  occurredAt: string;
}

/** eventDigestInput(event) for an event read back from audit_events: what its hash and signature cover. */
export function storedEventInput(event: StoredEventFields): string {
  // The keys of eventDigestInput's object in sorted order: actor, occurredAt, payload, requestId, type.
  return (
    `{"actor":${JSON.stringify(event.actor)},"occurredAt":${JSON.stringify(event.occurredAt)},` +
    `"payload":${parsedCanonicalJson(event.payload)},` +
    `"requestId":${event.requestId === null ? 'null' : JSON.stringify(event.requestId)},` +
    `"type":${JSON.stringify(event.type)}}`
  );
}

/** chainHash(prevHash, event) for an event read back from audit_events. */
export function storedEventHash(prevHash: string, event: StoredEventFields): string {
  return hash('sha256', prevHash + storedEventInput(event), 'hex');
}
