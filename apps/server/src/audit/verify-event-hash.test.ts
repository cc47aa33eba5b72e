// The verification hash must be byte for byte the append's: the same digest input as
// eventDigestInput (canonicalJson) for every JSON value jsonb can hand back, and the same hash.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';
import { chainHash, eventDigestInput, GENESIS_HASH } from './append-event.ts';
import { parsedCanonicalJson, storedEventHash } from './verify-event-hash.ts';

const PAYLOADS: string[] = [
  'null',
  'true',
  '0',
  '-0',
  '1e21',
  '1.5e-7',
  '123456789012345678901234567890',
  '"plain"',
  '"quote \\" backslash \\\\ newline \\n tab \\t nul \\u0000 é 漢字 😀 \\ud800"',
  '[]',
  '{}',
  '[1, "two", null, [3, [4]], {"b": 1, "a": 2}]',
  '{"b": 1, "a": {"d": [true, false], "c": null}, "": "empty key", "A": "upper", "é": "accent", "aa": 0}',
  '{"10": "ten", "9": "nine", "x": 1, "1a": "not an index", "01": "leading zero"}',
  '{"outer": {"2": "b", "1": "a"}, "list": [{"z": 1, "y": 2}]}',
  '{"__proto__": {"polluted": true}, "kept": 1}',
  '{"__proto__": null, "kept": 1}',
  '{"approver": {"email": "bob@example.com", "platform": "slack", "platformUserId": "U0BOB", "displayName": null}, "verdict": "approve", "reason": null}',
];

describe('parsedCanonicalJson', () => {
  it.each(PAYLOADS)('writes what canonicalJson writes for %s', (text) => {
    const value: unknown = JSON.parse(text);
    expect(parsedCanonicalJson(value)).toBe(canonicalJson(value));
  });
});

describe('storedEventHash', () => {
  it.each(PAYLOADS)('hashes an event with payload %s as chainHash does', (text) => {
    for (const requestId of [null, '0b5e1c1e-0000-4000-8000-000000000001']) {
      const occurredAt = new Date('2025-03-04T05:06:07.089Z');
      const fields = { type: 'decision.recorded', requestId, actor: 'bob@example.com "b"', occurredAt };
      const payload: unknown = JSON.parse(text);
      const expected = chainHash(GENESIS_HASH, { ...fields, payload });
      expect(
        storedEventHash(GENESIS_HASH, { ...fields, payload, occurredAt: occurredAt.toISOString() }),
      ).toBe(expected);
      expect(eventDigestInput({ ...fields, payload })).toContain('"occurredAt":"2025-03-04T05:06:07.089Z"');
    }
  });
});
