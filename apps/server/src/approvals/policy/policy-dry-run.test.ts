import { describe, expect, it } from 'vitest';
import { parsePolicy } from './load-policy.ts';
import { dryRunRequest, type DryRun, type RuleTried } from './policy-dry-run.ts';
import type { SampleRequest } from './policy-warnings.ts';

const POLICY = parsePolicy(
  `groups:
  owners: [bob@example.com, carol@example.com]
defaults:
  channel: slack:C0DEFAULT
rules:
  - name: small-reads
    actions: ["db.read"]
    autoApprove: true
    when: { context: /rows, lte: 100 }
  - name: forbidden
    actions: ["db.drop"]
    deny: true
    reason: never in production
  - name: exports
    actions: ["db.*"]
    approvers: [group:owners]
    quorum: 2
    expiresIn: 30m
    mask: [pii]
    sensitive: ["/connection"]
    channels: [slack:C0DATA, slack:C0DEFAULT]
`,
  'test policy',
);

const alice = { email: 'alice@example.com' };

interface Case {
  name: string;
  sample: SampleRequest & Record<string, unknown>;
  expected: Partial<DryRun>;
  tried: Partial<RuleTried>[];
  detail?: string;
}

describe('policy test --request (dry run)', () => {
  it.each<Case>([
    {
      name: 'a small read is auto-approved by its when:',
      sample: { action: 'db.read', requester: alice, context: { rows: 10 } },
      expected: { outcome: 'auto-approved', rule: 'small-reads' },
      tried: [
        { rule: 'small-reads', whenHolds: true },
        { rule: 'exports', whenHolds: true },
      ],
    },
    {
      name: 'a large read falls through to the next rule',
      sample: { action: 'db.read', requester: alice, context: { rows: 5000 } },
      expected: {
        outcome: 'needs-approval',
        rule: 'exports',
        approvers: ['bob@example.com', 'carol@example.com'],
        quorum: 2,
        channels: ['slack:C0DATA'],
        expiresInSeconds: 1800,
        masking: { sensitive: ['/connection'], personalData: true, requesterName: false },
      },
      tried: [
        { rule: 'small-reads', whenHolds: false },
        { rule: 'exports', whenHolds: true },
      ],
    },
    {
      name: 'a deny rule denies with its reason',
      sample: { action: 'db.drop', requester: alice },
      expected: {
        outcome: 'denied',
        rule: 'forbidden',
      },
      detail: 'never in production',
      tried: [
        { rule: 'forbidden', whenHolds: true },
        { rule: 'exports', whenHolds: true },
      ],
    },
    {
      name: 'an action no rule names is refused',
      sample: { action: 'k8s.node.create', requester: alice },
      expected: { outcome: 'refused', rule: null },
      tried: [],
    },
    {
      name: 'a request widening its rule is refused',
      sample: { action: 'db.export', requester: alice, quorum: 1 },
      expected: { outcome: 'refused', rule: 'exports' },
      detail: 'quorum',
      tried: [{ rule: 'exports', whenHolds: true }],
    },
  ])('$name', ({ sample, expected, tried, detail }: Case) => {
    const run = dryRunRequest(POLICY, sample);
    expect(run).toMatchObject(expected);
    if (detail) expect(run.detail).toContain(detail);
    expect(run.tried).toMatchObject(tried);
  });
});
