// Retry-After parsing and classification of errors that carry no HTTP response.
import { describe, expect, it } from 'vitest';
import {
  classifyTeamsError,
  parseRetryAfter,
  TeamsConversationUnavailableError,
} from './classify-teams-error.ts';

describe('classifyTeamsError', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter('1.2', now)).toBe(2);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:45 GMT', now)).toBe(45);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('treats a network failure or a thrown string as transient', () => {
    expect(classifyTeamsError(new TypeError('fetch failed'))).toEqual({ kind: 'transient' });
    expect(classifyTeamsError('boom')).toEqual({ kind: 'transient' });
  });

  it('refuses a conversation the bot is not in, for good', () => {
    expect(classifyTeamsError(new TeamsConversationUnavailableError('19:x', 'removed'))).toEqual({
      kind: 'refused',
      error: 'conversation_removed',
    });
  });
});
