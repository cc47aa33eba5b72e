// Refuses input that would otherwise be silently changed or crash a later step: text with NUL or
// lone surrogates (Postgres cannot store them; the driver would turn surrogates into U+FFFD),
// keys that JavaScript treats specially (`__proto__` is an own property after JSON.parse, but an
// assignment or a zod record drops it — and the payload digest with it), and nesting deeper than
// MAX_JSON_DEPTH. The walk is iterative, so it is safe on any depth; every recursive walk after it
// (masking, canonical JSON) only ever sees bounded input.
import { AppError, type FieldError } from '../errors.ts';

/** Objects and arrays nest at most this deep; the body (or query) itself is level 1. */
export const MAX_JSON_DEPTH = 64;
/** Enough to show the pattern without building a huge problem document. */
const MAX_REPORTED = 20;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// A NUL, or a UTF-16 surrogate that is not part of a pair (\p{Cs} matches only lone ones in u mode).
const BAD_TEXT = /[\0\p{Cs}]/u;

function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Describes what is wrong with a text, or undefined when it can be stored as it is. */
export function textProblem(text: string): string | undefined {
  const match = BAD_TEXT.exec(text);
  if (!match) return undefined;
  return match[0] === '\0'
    ? 'contains a NUL character'
    : 'contains a lone UTF-16 surrogate (not valid Unicode)';
}

// Pointer tokens are escaped for display; an unsafe key is shown as its JSON escape so the problem
// document itself stays valid text.
function displayToken(key: string): string {
  return textProblem(key) === undefined ? escapeToken(key) : JSON.stringify(key).slice(1, -1);
}

function keyProblem(key: string): string | undefined {
  if (FORBIDDEN_KEYS.has(key)) return `the key "${key}" is not allowed`;
  const text = textProblem(key);
  return text ? `key ${text}` : undefined;
}

/** Every problem found (at most MAX_REPORTED), each with the JSON pointer of the offending part. */
export function findHostileInput(value: unknown): FieldError[] {
  const problems: FieldError[] = [];
  const stack: { value: unknown; pointer: string; depth: number }[] = [{ value, pointer: '', depth: 1 }];
  for (let item = stack.pop(); item && problems.length < MAX_REPORTED; item = stack.pop()) {
    const at = item.pointer === '' ? '/' : item.pointer;
    if (typeof item.value === 'string') {
      const problem = textProblem(item.value);
      if (problem) problems.push({ pointer: at, message: problem });
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth > MAX_JSON_DEPTH) {
      problems.push({ pointer: at, message: `nests deeper than ${MAX_JSON_DEPTH} levels` });
      continue;
    }
    const isArray = Array.isArray(item.value);
    const entries = isArray ? (item.value as unknown[]).entries() : Object.entries(item.value);
    const members: { value: unknown; pointer: string; depth: number }[] = [];
    for (const [key, member] of entries) {
      const pointer = `${item.pointer}/${displayToken(String(key))}`;
      const problem = isArray ? undefined : keyProblem(String(key));
      if (problem) problems.push({ pointer, message: problem });
      else members.push({ value: member, pointer, depth: item.depth + 1 });
    }
    // Reversed so the stack yields members in document order.
    for (let i = members.length - 1; i >= 0; i--) stack.push(members[i] as (typeof members)[number]);
  }
  return problems.slice(0, MAX_REPORTED);
}

const WHERE = { body: 'request body', query: 'query string', header: 'request headers' } as const;

/** Throws VALIDATION_FAILED (422) naming every offending field. */
export function refuseHostileInput(value: unknown, location: keyof typeof WHERE): void {
  const errors = findHostileInput(value);
  const first = errors[0];
  if (!first) return;
  throw new AppError('VALIDATION_FAILED', {
    detail: `the ${WHERE[location]} is invalid: ${first.pointer === '/' ? '' : first.pointer + ' '}${first.message}`,
    errors,
  });
}
