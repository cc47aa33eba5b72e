import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { refuseTooLongText, TEXT_LIMITS, textLengthProblem, typedLength } from './text-limits.ts';

describe('typedLength', () => {
  it('counts each line break once, whichever way it was sent', () => {
    expect(typedLength('a\r\nb')).toBe(3);
    expect(typedLength('a\nb')).toBe(3);
    expect(typedLength('a\rb')).toBe(3);
    expect(typedLength('\r\n\r\n')).toBe(2);
  });

  it('counts a character outside the BMP once', () => {
    expect(typedLength('🚀')).toBe(1);
    expect(typedLength('𠀋x')).toBe(2);
    expect(typedLength('日本語')).toBe(3);
  });
});

describe('text limits', () => {
  const browserReason = (chars: number, breaks: number) =>
    'x'.repeat(chars - breaks) + Array.from({ length: breaks }, () => 'y\r\n').join('');

  it('refuses 1,990 characters and 20 CRLF line breaks (2,030 UTF-16 units) naming both numbers', () => {
    const reason = browserReason(1990, 20);
    expect(reason.length).toBe(2030);
    expect(textLengthProblem('reason', reason)).toBe(
      'the reason is 2,010 characters long (line breaks count once); the limit is 2,000',
    );
    expect(() => refuseTooLongText('reason', reason)).toThrow(AppError);
  });

  it('accepts exactly the limit although CRLF makes it longer in UTF-16', () => {
    const reason = browserReason(1980, 20);
    expect(reason.length).toBe(2020);
    expect(typedLength(reason)).toBe(TEXT_LIMITS.reason);
    expect(textLengthProblem('reason', reason)).toBeUndefined();
    expect(() => refuseTooLongText('reason', reason)).not.toThrow();
    expect(() => refuseTooLongText('title', null)).not.toThrow();
  });
});
