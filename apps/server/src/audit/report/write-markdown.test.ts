// Markdown cells: text from requesters, agents and deciders cannot add HTML, links, images or
// emphasis to the report, nor break its table.
import { describe, expect, it } from 'vitest';
import type { ReportRow } from './report-rows.ts';
import { markdownCell, rowMarkdown } from './write-markdown.ts';

const row: ReportRow = {
  id: '00000000-0000-4000-8000-000000000001',
  createdAt: '2030-01-01T09:00:00.000Z',
  action: 'db.export_all',
  title: '<script>alert(1)</script> **urgent** [docs](javascript:alert(1)) ![x](http://evil/x.png)',
  requester: 'alice@example.com',
  requesterProof: 'claimed by key <b>deploy-bot</b>',
  agent: '<img src=x onerror=alert(1)>',
  policyRule: 'ops',
  approvers: [
    {
      email: 'bob@example.com',
      verdict: 'deny',
      at: '2030-01-01T09:05:00.000Z',
      reason: '`rm -rf` & <b>no</b>',
      devSignin: true,
      platform: 'web',
      eligibleThrough: 'idp:<b>Data</b> Owners (scim)',
    },
  ],
  askedApprovers: ['bob@example.com'],
  cancelledBy: null,
  cancelReason: null,
  timeToDecisionSeconds: 300,
  status: 'denied',
  decidedAt: '2030-01-01T09:05:00.000Z',
  payloadDigest: 'sha256:abc',
  chat: [],
  callback: null,
  execution: null,
};

describe('markdownCell', () => {
  it('escapes HTML as entities and Markdown punctuation with backslashes', () => {
    expect(markdownCell('<script>&amp;</script>')).toBe('&lt;script&gt;&amp;amp;&lt;/script&gt;');
    expect(markdownCell('**b** _i_ `c` [l](u) ![i](u) ~~s~~')).toBe(
      '\\*\\*b\\*\\* \\_i\\_ \\`c\\` \\[l\\]\\(u\\) \\!\\[i\\]\\(u\\) \\~\\~s\\~\\~',
    );
  });

  it('leaves plain text, emails, dates and dotted names readable', () => {
    expect(markdownCell('alice@example.com 2030-01-01T09:00:00.000Z db.export')).toBe(
      'alice@example.com 2030-01-01T09:00:00.000Z db.export',
    );
  });
});

describe('rowMarkdown', () => {
  it('carries no raw HTML, link, image or code span from any text cell', () => {
    const line = rowMarkdown(row);
    expect(line).not.toMatch(/<[a-z/!]/i);
    expect(line).not.toMatch(/(?<!\\)\[[^\]]*(?<!\\)\]\(/);
    expect(line).not.toMatch(/(?<!\\)`/);
    expect(line).not.toMatch(/(?<!\\)\*\*/);
    expect(line).toContain('&lt;script&gt;alert\\(1\\)&lt;/script&gt;');
    expect(line).toContain('&lt;img src=x onerror=alert\\(1\\)&gt;');
    expect(line).toContain('db.export\\_all');
    expect(line).toContain('\\[development sign-in\\]');
    expect(line).toContain('\\`rm -rf\\` &amp; &lt;b&gt;no&lt;/b&gt;');
    expect(line).toContain('| bob@example.com: idp:&lt;b&gt;Data&lt;/b&gt; Owners \\(scim\\) |');
  });
});
