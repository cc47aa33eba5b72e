import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors.ts';
import { normaliseAdminEmails } from './key-admins.ts';

describe("a key's admin emails", () => {
  it('trims, lower-cases and keeps each once, in the order given', () => {
    expect(normaliseAdminEmails([' Dana@Example.com', 'erin@example.com', 'dana@example.COM'])).toEqual([
      'dana@example.com',
      'erin@example.com',
    ]);
    expect(normaliseAdminEmails([])).toEqual([]);
  });

  it.each(['dana', 'dana@', '', 'dana@example.com, erin@example.com', `${'a'.repeat(320)}@example.com`])(
    'refuses %j with VALIDATION_FAILED naming it',
    (bad) => {
      let thrown: unknown;
      try {
        normaliseAdminEmails(['erin@example.com', bad]);
      } catch (error) {
        thrown = error;
      }
      expect(isAppError(thrown) && thrown.code).toBe('VALIDATION_FAILED');
      expect(isAppError(thrown) && thrown.detail).toBe(`admin "${bad}" is not an email`);
    },
  );
});
