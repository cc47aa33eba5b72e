// Result redaction (every injected value, longest first, plus the credential formats masked
// elsewhere) and tool decisions (first matching entry, then readOnlyDefault, then default).
import { describe, expect, it } from 'vitest';
import { decideTool } from './decide-tool.ts';
import { redactJson, redactText } from './redact-result.ts';

describe('redactText / redactJson', () => {
  it('masks every injected value, a longer one containing a shorter one whole', () => {
    const text = 'token=abc123-long-value and short abc123 and ghp_abcdefghijklmnopqrstuvwxyz0123456789';
    const redacted = redactText(text, ['abc123', 'abc123-long-value']);
    expect(redacted).not.toContain('abc123');
    expect(redacted).not.toContain('long-value');
    expect(redacted).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
  });

  it('walks structured content, keys included, and leaves other values alone', () => {
    const result = {
      content: [{ type: 'text', text: 'value s3cr3t-value' }],
      structuredContent: { 's3cr3t-value': { nested: ['s3cr3t-value', 42, true, null] } },
    };
    const redacted = redactJson(result, ['s3cr3t-value']);
    expect(JSON.stringify(redacted)).not.toContain('s3cr3t-value');
    expect(redacted.content[0]?.type).toBe('text');
    expect(Object.values(redacted.structuredContent)[0]?.nested.slice(1)).toEqual([42, true, null]);
  });
});

describe('decideTool', () => {
  const file = {
    tools: [
      { match: 'github__delete_*', decide: 'ask' as const },
      { match: 'github__*', decide: 'allow' as const },
    ],
    default: 'deny' as const,
    readOnlyDefault: 'allow' as const,
  };
  it('takes the first matching entry', () => {
    expect(decideTool(file, 'github__delete_repo', undefined)).toBe('ask');
    expect(decideTool(file, 'github__create_issue', false)).toBe('allow');
  });
  it('gives read-only tools no entry names readOnlyDefault, and others the default', () => {
    expect(decideTool(file, 'files__read_file', true)).toBe('allow');
    expect(decideTool(file, 'files__write_file', false)).toBe('deny');
    expect(decideTool({ ...file, readOnlyDefault: undefined }, 'files__read_file', true)).toBe('deny');
  });
  it('reads "." in a glob literally', () => {
    expect(
      decideTool({ tools: [{ match: 'a__b.c', decide: 'allow' }], default: 'deny' }, 'a__bxc', undefined),
    ).toBe('deny');
  });
});
