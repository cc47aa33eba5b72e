// How long the free-text fields may be, and how their length is counted: as the person typed it.
// A browser sends each line break of a textarea as CRLF, so CRLF (and a lone CR) counts once, and
// a character outside the Basic Multilingual Plane (an emoji, a rare CJK ideograph) counts once.
// Every door checks with these, and text over its limit is refused, never cut or dropped.
import { AppError } from '../errors.ts';

/** The limits, in characters as typed. */
export const TEXT_LIMITS = {
  /** A request's reason, a deny reason, a cancel reason. */
  reason: 2000,
  /** A request's one-line title. */
  title: 300,
} as const;

export type LimitedField = keyof typeof TEXT_LIMITS;

const NUMBER = new Intl.NumberFormat('en-US');

/** The length a person sees: line breaks once each (CRLF, CR or LF), code points not UTF-16 units. */
export function typedLength(text: string): number {
  let length = 0;
  for (const _ of text.replace(/\r\n?/g, '\n')) length++;
  return length;
}

/** What is wrong with `text` as a `field`, naming its length and the limit; undefined when it fits. */
export function textLengthProblem(field: LimitedField, text: string): string | undefined {
  const length = typedLength(text);
  const limit = TEXT_LIMITS[field];
  if (length <= limit) return undefined;
  return `the ${field} is ${NUMBER.format(length)} characters long (line breaks count once); the limit is ${NUMBER.format(limit)}`;
}

/** Throws VALIDATION_FAILED (422) pointing at `/field` when `text` is over its limit. */
export function refuseTooLongText(field: LimitedField, text: string | null | undefined): void {
  if (text === null || text === undefined) return;
  const problem = textLengthProblem(field, text);
  if (problem) {
    throw new AppError('VALIDATION_FAILED', {
      detail: problem,
      errors: [{ pointer: `/${field}`, message: problem }],
    });
  }
}
