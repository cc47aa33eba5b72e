// Query-string secrets never reach the log: by parameter name, or by a credential-looking value.
import { describe, expect, it } from 'vitest';
import { redactQueryObject, redactQueryString } from './logger.ts';

describe('redactQueryString', () => {
  it('replaces token and key values, keeps the rest', () => {
    const url = redactQueryString('/v1/approvals?token=xoxb-123-456&api_key=cs_secret&status=pending');
    expect(url).toBe('/v1/approvals?token=%5Bredacted%5D&api_key=%5Bredacted%5D&status=pending');
    expect(url).not.toContain('xoxb');
    expect(url).not.toContain('cs_secret');
  });

  it('replaces credential-looking values under innocent names', () => {
    expect(redactQueryString('/x?next=cs_abcdef&limit=5')).toBe('/x?next=%5Bredacted%5D&limit=5');
  });

  it('leaves a URL without secrets byte for byte', () => {
    expect(redactQueryString('/v1/approvals?status=pending&limit=20')).toBe(
      '/v1/approvals?status=pending&limit=20',
    );
    expect(redactQueryString('/healthz')).toBe('/healthz');
  });
});

describe('redactQueryObject', () => {
  it('redacts the parsed query the same way', () => {
    expect(redactQueryObject({ password: 'hunter2', wait: '30', q: 'xapp-1-2' })).toEqual({
      password: '[redacted]',
      wait: '30',
      q: '[redacted]',
    });
  });
});
