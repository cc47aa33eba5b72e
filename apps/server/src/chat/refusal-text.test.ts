import { describe, expect, it } from 'vitest';
import { CHAT_PLATFORMS } from '../approvals/channels.ts';
import { refusalText, UNEXPECTED_FAILURE } from './refusal-text.ts';

const CODES = [
  'SELF_APPROVAL_FORBIDDEN',
  'NOT_ELIGIBLE',
  'IDENTITY_UNRESOLVED',
  'FOREIGN_TENANT',
  'ALREADY_DECIDED',
  'REQUEST_EXPIRED',
  'DENY_REASON_REQUIRED',
  'NOT_FOUND',
  'CARD_MISMATCH',
];

describe.each(CHAT_PLATFORMS)('refusalText on %s', (platform) => {
  it('has one distinct sentence per refusal code, different from the fallback', () => {
    const fallback = refusalText('SOMETHING_UNKNOWN', platform);
    const messages = CODES.map((code) => refusalText(code, platform));
    expect(new Set(messages).size).toBe(CODES.length);
    for (const message of messages) {
      expect(message).not.toBe(fallback);
      expect(message).toMatch(/^[A-Z].*\.$/);
    }
  });

  it('says what each refusal means', () => {
    const text = (code: string) => refusalText(code, platform);
    expect(text('SELF_APPROVAL_FORBIDDEN')).toContain('You asked for this action');
    expect(text('SELF_APPROVAL_FORBIDDEN')).toContain('own the agent');
    expect(text('SELF_APPROVAL_FORBIDDEN')).toContain('cannot approve or deny it');
    expect(text('NOT_ELIGIBLE')).toContain('not one of the approvers');
    expect(text('ALREADY_DECIDED')).toContain('already has its verdict');
    expect(text('REQUEST_EXPIRED')).toContain('expired');
    expect(text('DENY_REASON_REQUIRED')).toContain('requires a reason');
    expect(text('NOT_FOUND')).toContain('no such request');
    expect(text('CARD_MISMATCH')).toContain('does not belong to this message');
    expect(text('FOREIGN_TENANT')).toContain('another organisation');
  });

  it('falls back to a generic sentence, also for names on Object.prototype', () => {
    const fallback = refusalText('INTERNAL', platform);
    expect(fallback).toContain('try again');
    expect(refusalText('toString', platform)).toBe(fallback);
    expect(refusalText('__proto__', platform)).toBe(fallback);
  });
});

describe('platform wording', () => {
  it('names the platform whose profile had no email', () => {
    expect(refusalText('IDENTITY_UNRESOLVED', 'slack')).toContain(
      'could not read your email from your Slack profile',
    );
    expect(refusalText('IDENTITY_UNRESOLVED', 'slack')).toContain('let apps see member emails');
    expect(refusalText('IDENTITY_UNRESOLVED', 'teams')).toContain(
      'could not read your email from your Microsoft Teams profile',
    );
    expect(refusalText('FOREIGN_TENANT', 'teams')).toContain('Your Microsoft Teams account');
  });

  it('tells the clicker that nothing was recorded when something unexpected failed', () => {
    expect(UNEXPECTED_FAILURE).toContain('not recorded');
  });
});
