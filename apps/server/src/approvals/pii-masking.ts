// Personal data masked where a policy rule says `mask: [pii]` (or the policy's defaults do):
// emails, phone numbers, US social security numbers, payment card numbers (Luhn-checked), IBANs
// (mod-97-checked) in any context string, and dates of birth under keys that name them. A number
// that only looks like a card or an IBAN but fails its checksum stays visible. The digest is still
// taken over the unmasked context; only what is stored and shown is masked.
import { MASK } from './mask-marker.ts';

export const MASK_PRESETS = ['pii'] as const;
export type MaskPreset = (typeof MASK_PRESETS)[number];

const BIRTH_DATE_KEY = /^(dob|date[_-]?of[_-]?birth|birth[_-]?date|birthdate|birthday)$/i;

/** True when a value under this key is a date of birth, masked whole. */
export function isBirthDateKey(key: string): boolean {
  return BIRTH_DATE_KEY.test(key);
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function ibanValid(compact: string): boolean {
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = char >= 'A' && char <= 'Z' ? String(char.charCodeAt(0) - 55) : char;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

const lastFour = (text: string): string => MASK + text.replace(/[\s-]/g, '').slice(-4);

// Patterns run over attacker-chosen text: every repetition is bounded.
const PERSONAL_FORMATS: readonly { name: string; pattern: RegExp; mask: (match: string) => string | null }[] =
  [
    {
      name: 'IBAN',
      pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g,
      mask: (match) => (ibanValid(match.replace(/ /g, '')) ? match.slice(0, 2) + lastFour(match) : null),
    },
    {
      name: 'payment card number',
      pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
      mask: (match) => (luhnValid(match.replace(/[ -]/g, '')) ? lastFour(match) : null),
    },
    {
      name: 'US social security number',
      pattern: /(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])/g,
      mask: () => MASK,
    },
    {
      name: 'phone number',
      pattern:
        /(?<![\w+]|\d[ .-])(?:\+[1-9]\d{7,14}|(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]?\d{3,4})(?![\w-]|[ .-]\d)/g,
      mask: lastFour,
    },
    {
      name: 'email address',
      pattern: /(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@((?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,63})\b/g,
      mask: (match) => `${MASK}@${match.slice(match.indexOf('@') + 1)}`,
    },
  ];

/** Masks every personal-data format in a text; the rest stays as it was. */
export function maskPersonalData(text: string): string {
  let masked = text;
  for (const { pattern, mask } of PERSONAL_FORMATS) {
    masked = masked.replace(pattern, (match) => mask(match) ?? match);
  }
  return masked;
}
