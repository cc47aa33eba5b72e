// One run of the policy check names every problem, of every kind, and rules that can never match
// because an earlier rule catches all their actions are found.
import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from './load-policy.ts';
import { shadowedRules } from './policy.ts';

function problems(text: string): [number, string][] {
  try {
    parsePolicy(text, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).problems.map((p) => [p.line, p.field]);
  }
  throw new Error('the policy was accepted');
}

describe('policy check: every problem in one run', () => {
  it('all compile problems at once: unknown group, quorum too high, duplicate name, no approvers', () => {
    const found = problems(
      [
        'rules:',
        '  - name: a',
        '    actions: [x]',
        '    approvers: [group:nobody]',
        '  - name: b',
        '    actions: [y]',
        '    approvers: [bob@example.com]',
        '    quorum: 2',
        '  - name: a',
        '    actions: [z]',
        '    approvers: [bob@example.com]',
        '  - name: c',
        '    actions: [w]',
      ].join('\n'),
    );
    expect(found.map(([, field]) => field).sort()).toEqual(
      ['rules[0].approvers[0]', 'rules[1].quorum', 'rules[2].name', 'rules[3].approvers'].sort(),
    );
  });

  it('a YAML problem and a schema problem in the same run', () => {
    const found = problems(['rules:', '  - name: a', '    name: b', '    actions: 5'].join('\n'));
    expect(found.map(([, field]) => field)).toEqual(expect.arrayContaining(['(yaml)', 'rules[0].actions']));
  });
});

describe('shadowedRules', () => {
  const policy = (rules: [string, string[]][]) => ({
    rules: rules.map(([name, actions]) => ({ name, actions })),
  });

  it('finds a rule after a catch-all, and one whose every glob an earlier glob covers', () => {
    expect(
      shadowedRules(
        policy([
          ['exports', ['db.export.*']],
          ['one-export', ['db.export.users', 'db.export.*.daily']],
          ['partly', ['db.export.x', 'db.import']],
          ['all', ['*']],
          ['late', ['deploy.prod']],
        ]) as Parameters<typeof shadowedRules>[0],
      ),
    ).toEqual([
      { rule: 'one-export', index: 1, by: 'exports' },
      { rule: 'late', index: 4, by: 'all' },
    ]);
  });

  it('a narrower glob first shadows nothing', () => {
    expect(
      shadowedRules(
        policy([
          ['reads', ['*.read']],
          ['all', ['*']],
        ]) as Parameters<typeof shadowedRules>[0],
      ),
    ).toEqual([]);
  });
});
