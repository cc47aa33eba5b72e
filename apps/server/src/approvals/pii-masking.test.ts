import { describe, expect, it } from 'vitest';
import { maskContext } from './masking.ts';
import { maskPersonalData } from './pii-masking.ts';

describe('personal data masking (mask: [pii])', () => {
  it.each([
    ['email', 'write to dana.o+x@example.co.uk today', 'write to ••••@example.co.uk today'],
    ['E.164 phone', 'call +14155550123', 'call ••••0123'],
    ['US phone', 'call (415) 555-0123 now', 'call ••••0123 now'],
    ['dotted phone', 'or 415.555.0123', 'or ••••0123'],
    ['UK phone', 'office +44 20 7946 0958', 'office ••••0958'],
    ['SSN', 'ssn 123-45-6789', 'ssn ••••'],
    ['Visa card', 'card 4111 1111 1111 1111', 'card ••••1111'],
    ['Amex card with dashes', 'amex 3782-822463-10005', 'amex ••••0005'],
    ['IBAN', 'pay to DE89 3704 0044 0532 0130 00', 'pay to DE••••3000'],
    ['compact IBAN', 'GB82WEST12345698765432', 'GB••••5432'],
  ])('masks a %s', (_name, text, masked) => {
    expect(maskPersonalData(text)).toBe(masked);
  });

  it.each([
    ['a 16-digit number failing Luhn', 'order 4111 1111 1111 1112'],
    ['an IBAN with a wrong check digit', 'DE88 3704 0044 0532 0130 00'],
    ['a date', 'due 2026-12-07'],
    ['an IP address', 'host 192.168.10.20'],
    ['a version', 'v1.22.333'],
    ['an SSN that cannot be one', 'ref 000-12-3456'],
    ['a plain count', 'rows 120000'],
    ['an at-sign without a domain', 'ping @oncall'],
  ])('leaves %s visible', (_name, text) => {
    expect(maskPersonalData(text)).toBe(text);
  });

  it('masks dates of birth under keys that name them, whole, and leaves the rest of the context', () => {
    const context = {
      customer: {
        email: 'dana@example.com',
        dob: 'January 1, 1990',
        date_of_birth: '1990-01-01',
        birthDate: 19900101,
      },
      rows: 120000,
      note: 'ticket SUP-42',
    };
    expect(maskContext(context, [], { personalData: true })).toEqual({
      customer: { email: '••••@example.com', dob: '••••', date_of_birth: '••••', birthDate: '••••' },
      rows: 120000,
      note: 'ticket SUP-42',
    });
    // Without the preset, nothing personal is touched.
    expect(maskContext(context, [])).toEqual(context);
  });
});
