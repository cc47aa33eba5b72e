import { describe, expect, it } from 'vitest';
import { diffPolicyText } from './policy-diff.ts';

describe('diffPolicyText', () => {
  it('is empty for equal texts', () => {
    expect(diffPolicyText('a\nb\n', 'a\nb\n', 'v1', 'v2')).toBe('');
  });

  it('shows a changed line with its context as a unified hunk', () => {
    const before = 'groups:\n  ops: [a@x.io]\nrules:\n  - name: r\n    quorum: 1\n';
    const after = 'groups:\n  ops: [a@x.io, b@x.io]\nrules:\n  - name: r\n    quorum: 1\n';
    expect(diffPolicyText(before, after, 'v1', 'v2')).toBe(
      [
        '--- v1',
        '+++ v2',
        '@@ -1,5 +1,5 @@',
        ' groups:',
        '-  ops: [a@x.io]',
        '+  ops: [a@x.io, b@x.io]',
        ' rules:',
        '   - name: r',
        '     quorum: 1',
        '',
      ].join('\n'),
    );
  });

  it('diffs from nothing for a first version', () => {
    expect(diffPolicyText('', 'rules: []\n', '(none)', 'v1')).toBe(
      '--- (none)\n+++ v1\n@@ -0,0 +1,1 @@\n+rules: []\n',
    );
  });

  it('splits far-apart changes into separate hunks', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
    const after = before.replace('line 1\n', 'line one\n').replace('line 18', 'line eighteen');
    const diff = diffPolicyText(before, after, 'a', 'b');
    expect(diff.match(/^@@/gm)).toHaveLength(2);
    expect(diff).toContain('-line 1\n+line one\n');
    expect(diff).toContain('-line 18\n+line eighteen\n');
  });
});
