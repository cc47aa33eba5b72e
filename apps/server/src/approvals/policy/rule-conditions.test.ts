// `when:` conditions: the evaluation matrix (every operator, missing fields, wrong types, pointers
// into arrays, combinators), rule selection by content and key, and the start-up errors with lines.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.ts';
import { applyPolicy } from './apply-policy.ts';
import { parsePolicy, PolicyError, type PolicyProblem } from './load-policy.ts';
import { matchRule } from './policy.ts';
import {
  conditionHolds,
  conditionSchema,
  parsePointer,
  resolvePointer,
  type RuleSubject,
} from './rule-conditions.ts';

const REQUEST: RuleSubject = {
  action: 'db.export',
  requester: { email: 'Alice@Example.com', name: 'Alice' },
  agent: { name: 'exporter', model: 'claude-opus-4' },
  keyName: 'etl-bot',
  context: {
    rows: 25000,
    destination: 's3://public-dumps/2026',
    tables: [{ name: 'users', pii: true }, { name: 'orders' }],
    'a/b': { '~x': 'escaped' },
    dryRun: false,
    nothing: null,
    count: '20000',
  },
};

function holds(when: unknown, request: RuleSubject = REQUEST): boolean {
  return conditionHolds(conditionSchema.parse(when), request);
}

describe('when: matrix', () => {
  it.each([
    // numbers
    [{ context: '/rows', gt: 10000 }, true],
    [{ context: '/rows', gt: 25000 }, false],
    [{ context: '/rows', gte: 25000 }, true],
    [{ context: '/rows', lt: 25000 }, false],
    [{ context: '/rows', lte: 25000 }, true],
    // a number written as a string is not a number
    [{ context: '/count', gt: 10000 }, false],
    // missing fields meet no operator
    [{ context: '/missing', gt: 0 }, false],
    [{ context: '/missing', lte: 0 }, false],
    [{ context: '/missing', equals: null }, false],
    [{ context: '/missing', glob: '*' }, false],
    [{ context: '/missing', regex: '.*' }, false],
    [{ context: '/missing', in: [null] }, false],
    [{ context: '/missing', exists: true }, false],
    [{ context: '/missing', exists: false }, true],
    [{ context: '/rows/deeper', exists: false }, true],
    // null is present
    [{ context: '/nothing', exists: true }, true],
    [{ context: '/nothing', equals: null }, true],
    // globs and regexes on strings only
    [{ context: '/destination', glob: 's3://public-*' }, true],
    [{ context: '/destination', glob: 's3://private-*' }, false],
    [{ context: '/destination', glob: 's3://public-dumps/202?' }, true],
    [{ context: '/rows', glob: '*' }, false],
    [{ context: '/destination', regex: '^s3://public-' }, true],
    [{ context: '/destination', regex: 'PUBLIC' }, false],
    // equality is on values, objects included
    [{ context: '/dryRun', equals: false }, true],
    [{ context: '/dryRun', equals: 'false' }, false],
    [{ context: '/tables/1', equals: { name: 'orders' } }, true],
    [{ context: '/rows', in: [1, 25000] }, true],
    [{ context: '/rows', in: ['25000'] }, false],
    // pointers into arrays
    [{ context: '/tables/0/name', equals: 'users' }, true],
    [{ context: '/tables/0/pii', equals: true }, true],
    [{ context: '/tables/1/pii', exists: false }, true],
    [{ context: '/tables/2/name', exists: false }, true],
    [{ context: '/tables/-/name', exists: false }, true],
    [{ context: '/tables/01/name', exists: false }, true],
    [{ context: '/tables/name', exists: false }, true],
    // escaped tokens
    [{ context: '/a~1b/~0x', equals: 'escaped' }, true],
    // requester (email compared lower-cased), agent, key
    [{ requester: 'email', glob: '*@example.com' }, true],
    [{ requester: 'name', equals: 'Alice' }, true],
    [{ agent: 'model', in: ['claude-opus-4', 'gpt-5'] }, true],
    [{ agent: 'runId', exists: false }, true],
    [{ agent: 'name', equals: 'exporter' }, true],
    [{ key: 'name', equals: 'etl-bot' }, true],
    [{ key: 'name', equals: 'other' }, false],
    // combinators; a list is "all"
    [
      {
        all: [
          { context: '/rows', gt: 1 },
          { context: '/dryRun', equals: false },
        ],
      },
      true,
    ],
    [
      {
        all: [
          { context: '/rows', gt: 1 },
          { context: '/dryRun', equals: true },
        ],
      },
      false,
    ],
    [
      {
        any: [
          { context: '/missing', exists: true },
          { context: '/rows', gt: 1 },
        ],
      },
      true,
    ],
    [
      {
        any: [
          { context: '/missing', exists: true },
          { context: '/rows', lt: 1 },
        ],
      },
      false,
    ],
    [{ not: { context: '/destination', glob: 's3://public-*' } }, false],
    [{ not: { context: '/missing', gt: 1 } }, true],
    [[{ context: '/rows', gt: 1 }, { not: { context: '/dryRun', equals: true } }], true],
  ])('%j → %s', (when, expected) => {
    expect(holds(when)).toBe(expected);
  });

  it('a request without context, agent or key meets only "exists: false"', () => {
    const bare: RuleSubject = { action: 'db.export' };
    expect(holds({ context: '/rows', gt: 0 }, bare)).toBe(false);
    expect(holds({ agent: 'name', glob: '*' }, bare)).toBe(false);
    expect(holds({ key: 'name', glob: '*' }, bare)).toBe(false);
    expect(holds({ requester: 'email', glob: '*' }, bare)).toBe(false);
    expect(holds({ context: '/rows', exists: false }, bare)).toBe(true);
  });

  it('follows RFC 6901 pointers', () => {
    expect(parsePointer('')).toEqual([]);
    expect(parsePointer('/a~1b/~0c/0')).toEqual(['a/b', '~c', '0']);
    expect(parsePointer('rows')).toMatch(/starting with "\/"/);
    expect(parsePointer('/a~2')).toMatch(/"~" must be followed by 0 or 1/);
    expect(resolvePointer({ '': { x: 1 } }, ['', 'x'])).toBe(1);
    expect(resolvePointer({ a: [1, 2] }, [])).toEqual({ a: [1, 2] });
    // inherited names are not members
    expect(resolvePointer({}, ['constructor'])).toBeUndefined();
  });
});

const EXPORT_POLICY = `groups:
  data-owners: [bob@example.com, carol@example.com]
rules:
  - name: public-destinations
    actions: ["db.export"]
    deny: true
    reason: exports to public buckets are not allowed; use s3://exports-internal
    when: { context: /destination, glob: "s3://public-*" }
  - name: big-exports
    actions: ["db.export"]
    approvers: [group:data-owners]
    quorum: 2
    when: { context: /rows, gt: 10000 }
  - name: exports
    actions: ["db.export"]
    approvers: [group:data-owners]
  - name: small-reads
    actions: ["*.read"]
    autoApprove: true
    when:
      all:
        - { context: /rows, lte: 1000 }
        - { not: { context: /grant, exists: true } }
  - name: reporting-key
    actions: ["report.*"]
    autoApprove: true
    keys: [reporting]
  - name: reads
    actions: ["*.read", "report.*"]
    approvers: [bob@example.com]
`;

describe('rules chosen on content', () => {
  const policy = parsePolicy(EXPORT_POLICY, 'test.yaml');
  const alice = 'alice@example.com';

  it('db.export with /rows > 10000 needs 2 approvers; otherwise 1', () => {
    const big = applyPolicy(policy, { action: 'db.export', requesterEmail: alice, context: { rows: 20000 } });
    expect(big).toMatchObject({ policyRule: 'big-exports', quorum: 2 });
    const small = applyPolicy(policy, { action: 'db.export', requesterEmail: alice, context: { rows: 20 } });
    expect(small).toMatchObject({ policyRule: 'exports', quorum: 1 });
    const unsaid = applyPolicy(policy, { action: 'db.export', requesterEmail: alice });
    expect(unsaid).toMatchObject({ policyRule: 'exports', quorum: 1 });
  });

  it('a public destination is denied outright, with the reason', () => {
    let error: unknown;
    try {
      applyPolicy(policy, {
        action: 'db.export',
        requesterEmail: alice,
        context: { rows: 5, destination: 's3://public-web/x.csv' },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('POLICY_DENIED');
    expect((error as AppError).detail).toContain('exports to public buckets are not allowed');
  });

  it('"grant admin role" as analytics.read is not auto-approved once the rule looks at the content', () => {
    const disguised = { action: 'analytics.read', context: { grant: 'admin', rows: 1 } };
    expect(matchRule(policy, disguised)?.name).toBe('reads');
    expect(applyPolicy(policy, { ...disguised, requesterEmail: alice }).autoApprove).toBe(false);
    const plain = { action: 'analytics.read', context: { rows: 10 } };
    expect(applyPolicy(policy, { ...plain, requesterEmail: alice }).autoApprove).toBe(true);
  });

  it('keys: applies a rule only to requests made with those API keys', () => {
    expect(matchRule(policy, { action: 'report.weekly', keyName: 'reporting' })?.name).toBe('reporting-key');
    expect(matchRule(policy, { action: 'report.weekly', keyName: 'other' })?.name).toBe('reads');
    expect(matchRule(policy, { action: 'report.weekly' })?.name).toBe('reads');
  });
});

function problemsOf(text: string): PolicyProblem[] {
  try {
    parsePolicy(text, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).problems;
  }
  throw new Error('the policy was accepted');
}

function rule(...lines: string[]): string {
  return [
    'rules:',
    '  - name: r',
    '    actions: [db.export]',
    '    approvers: [bob@example.com]',
    ...lines.map((l) => `    ${l}`),
  ].join('\n');
}

describe('when: is checked at start-up, with lines', () => {
  it.each([
    [
      'an invalid regex',
      rule('when: { context: /a, regex: "(unclosed" }'),
      5,
      'rules[0].when.regex',
      /invalid regular expression/,
    ],
    [
      'an unknown operator',
      rule('when:', '  context: /a', '  matches: x'),
      7,
      'rules[0].when.matches',
      /unknown operator "matches"/,
    ],
    [
      'a bad pointer',
      rule('when: { context: rows, gt: 1 }'),
      5,
      'rules[0].when.context',
      /starting with "\/"/,
    ],
    [
      'a bad "~" escape',
      rule('when: { context: /a~2, exists: true }'),
      5,
      'rules[0].when.context',
      /"~" must be followed/,
    ],
    [
      'a non-number bound',
      rule('when: { context: /a, gt: "10" }'),
      5,
      'rules[0].when.gt',
      /must be a number/,
    ],
    [
      'two operators',
      rule('when: { context: /a, gt: 1, lt: 2 }'),
      5,
      'rules[0].when.lt',
      /exactly one operator/,
    ],
    [
      'no subject',
      rule('when: { gt: 1 }'),
      5,
      'rules[0].when',
      /exactly one of context, requester, agent, key/,
    ],
    [
      'an unknown requester field',
      rule('when: { requester: phone, exists: true }'),
      5,
      'rules[0].when.requester',
      /email, name/,
    ],
    [
      'a nested problem',
      rule(
        'when:',
        '  any:',
        '    - { context: /a, exists: true }',
        '    - not: { context: /b, regex: "[" }',
      ),
      8,
      'rules[0].when.any[1].not.regex',
      /invalid regular expression/,
    ],
    ['an empty any', rule('when: { any: [] }'), 5, 'rules[0].when.any', /non-empty list/],
    [
      'autoApprove on the name alone',
      ['rules:', '  - name: reads', '    actions: ["*.read"]', '    autoApprove: true'].join('\n'),
      4,
      'rules[0].autoApprove',
      /needs a when: condition or keys/,
    ],
    ['deny without a reason', rule('deny: true'), 5, 'rules[0].deny', /needs a reason/],
    ['a reason without deny', rule('reason: no'), 5, 'rules[0].reason', /has no deny: true/],
    ['an empty keys list', rule('keys: []'), 5, 'rules[0].keys', /./],
  ])('refuses %s', (_name, text, line, field, message) => {
    const problems = problemsOf(text);
    expect(problems.map((p) => [p.line, p.field])).toContainEqual([line, field]);
    expect(problems.find((p) => p.field === field)?.message).toMatch(message);
  });

  it('accepts an autoApprove rule with when: or keys:, and a deny rule without approvers', () => {
    const policy = parsePolicy(EXPORT_POLICY, 'ok.yaml');
    expect(policy.rules.map((r) => [r.name, r.autoApprove, r.refusal !== null])).toEqual([
      ['public-destinations', false, true],
      ['big-exports', false, false],
      ['exports', false, false],
      ['small-reads', true, false],
      ['reporting-key', true, false],
      ['reads', false, false],
    ]);
  });
});
