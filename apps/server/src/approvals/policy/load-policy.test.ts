// Policy parsing and compilation (spec §4): the example file, defaults, and line-precise errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SPEC_POLICY_YAML,
  writeTempPolicy,
  type TempPolicyFile,
} from '../../../../../test/support/policy-files.ts';
import { loadPolicy, loadPolicyFile, parsePolicy, PolicyError, type PolicyProblem } from './load-policy.ts';
import { BUILT_IN_POLICY, matchRule, type Policy } from './policy.ts';

/** The problems `parsePolicy` reports for `text`; fails the test if it parses. */
function problemsOf(text: string): PolicyProblem[] {
  try {
    parsePolicy(text, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    const policyError = error as PolicyError;
    expect(policyError.source).toBe('test.yaml');
    // The message an operator sees names every problem with its line and field.
    for (const p of policyError.problems) {
      expect(policyError.message).toContain(`line ${p.line}, column ${p.column}: ${p.field}: ${p.message}`);
    }
    return policyError.problems;
  }
  throw new Error('expected a PolicyError, but the policy parsed');
}

/** A one-rule policy whose rule body is `ruleLines` (each indented under "  - "). */
function oneRule(...ruleLines: string[]): string {
  return (
    ['rules:', ...ruleLines.map((line, i) => (i === 0 ? `  - ${line}` : `    ${line}`))].join('\n') + '\n'
  );
}

describe('parsePolicy: the spec §4 example', () => {
  let policy: Policy;
  beforeAll(() => {
    policy = parsePolicy(SPEC_POLICY_YAML, 'spec.yaml');
  });

  it('parses and compiles every rule in file order', () => {
    expect(policy.source).toBe('spec.yaml');
    expect(policy.rules.map((r) => r.name)).toEqual(['data-exports', 'privilege-escalation', 'read-only']);
    expect(policy.groups).toEqual({
      'data-owners': ['bob@example.com', 'carol@example.com'],
      security: ['dave@example.com', 'erin@example.com', 'frank@example.com'],
    });
    expect(policy.agentOwners).toEqual(new Map());
  });

  it('expands groups and applies the rule’s own settings', () => {
    expect(policy.rules[0]).toEqual({
      name: 'data-exports',
      actions: ['db.export', 'db.export.*'],
      approvers: ['bob@example.com', 'carol@example.com'],
      approverGroups: ['data-owners'],
      quorum: 1,
      denyQuorum: 1,
      expiresInSeconds: 3600,
      channels: ['slack:C0DATA'],
      defaultChannels: ['slack:C0DATA'],
      sensitive: ['/connection'],
      mask: [],
      maskRequesterName: false,
      autoApprove: false,
      denyReasonRequired: false,
      grantUpToSeconds: null,
      when: null,
      keys: null,
      refusal: null,
      requireProvenRequester: false,
    });
    expect(policy.rules[1]).toEqual({
      name: 'privilege-escalation',
      actions: ['iam.*'],
      approvers: ['dave@example.com', 'erin@example.com', 'frank@example.com'],
      approverGroups: ['security'],
      quorum: 2,
      denyQuorum: 1,
      expiresInSeconds: 30 * 60,
      channels: ['slack:C0SEC', 'teams:19:abc@thread.tacv2'],
      defaultChannels: ['slack:C0SEC'],
      sensitive: [],
      mask: [],
      maskRequesterName: false,
      autoApprove: false,
      denyReasonRequired: false,
      grantUpToSeconds: null,
      when: null,
      keys: null,
      refusal: null,
      requireProvenRequester: false,
    });
  });

  it('applies defaults to a rule that sets nothing: channel, expiresIn "1h" → 3600, quorum', () => {
    expect(policy.rules[2]).toEqual({
      name: 'read-only',
      actions: ['*.read'],
      approvers: [],
      quorum: 1,
      denyQuorum: 1,
      expiresInSeconds: 3600,
      channels: ['slack:C0APPROVALS'],
      defaultChannels: ['slack:C0APPROVALS'],
      sensitive: [],
      mask: [],
      maskRequesterName: false,
      autoApprove: true,
      denyReasonRequired: false,
      grantUpToSeconds: null,
      when: { subject: 'context', path: ['rows'], label: 'context /rows', test: { op: 'lte', bound: 1000 } },
      keys: null,
      refusal: null,
      requireProvenRequester: false,
    });
  });

  it('posts to every channel of a `channel` list, which also counts as allowed', () => {
    const compiled = parsePolicy(
      [
        'rules:',
        '  - name: both',
        '    actions: ["*"]',
        '    approvers: [a@example.com]',
        '    channel: [slack:C0SEC, "teams:19:sec@thread.tacv2"]',
        '    channels: [slack:C0OTHER]',
      ].join('\n'),
      'lists.yaml',
    );
    expect(compiled.rules[0]).toMatchObject({
      defaultChannels: ['slack:C0SEC', 'teams:19:sec@thread.tacv2'],
      channels: ['slack:C0SEC', 'teams:19:sec@thread.tacv2', 'slack:C0OTHER'],
    });
  });

  it('takes quorum, expiresIn, channel and approvers from `defaults` when a rule omits them', () => {
    const compiled = parsePolicy(
      [
        'groups:',
        '  ops: [Ops1@Example.com, ops2@example.com, ops3@example.com]',
        'defaults:',
        '  approvers: [group:ops]',
        '  channel: teams:19:ops@thread.tacv2',
        '  expiresIn: 2d',
        '  quorum: 2',
        '  denyQuorum: 2',
        'rules:',
        '  - name: everything',
        '    actions: ["*"]',
        '  - name: overrides',
        '    actions: [x]',
        '    approvers: [ops1@example.com]',
        '    quorum: 1',
        '    expiresIn: 90',
        '    channel: slack:C1',
        '    channels: [slack:C2, slack:C1]',
        '    denyReason: required',
      ].join('\n'),
      'defaults.yaml',
    );
    expect(compiled.rules[0]).toMatchObject({
      approvers: ['ops1@example.com', 'ops2@example.com', 'ops3@example.com'],
      quorum: 2,
      denyQuorum: 2,
      expiresInSeconds: 2 * 86_400,
      channels: ['teams:19:ops@thread.tacv2'],
    });
    // `channel` is the default among `channels`: it comes first, once.
    expect(compiled.rules[1]).toMatchObject({
      approvers: ['ops1@example.com'],
      quorum: 1,
      denyQuorum: 2,
      expiresInSeconds: 90,
      channels: ['slack:C1', 'slack:C2'],
      denyReasonRequired: true,
    });
  });

  it('lower-cases emails and de-duplicates approvers named twice (directly and through a group)', () => {
    const compiled = parsePolicy(
      [
        'groups:',
        '  g: [Bob@Example.com, carol@example.com]',
        'agents:',
        '  analytics-agent: { owner: Olivia@Example.com }',
        'rules:',
        '  - name: r',
        '    actions: [x]',
        '    approvers: [bob@example.com, group:g, CAROL@example.com]',
        '    quorum: 2',
      ].join('\n'),
      'dedup.yaml',
    );
    expect(compiled.rules[0]?.approvers).toEqual(['bob@example.com', 'carol@example.com']);
    expect(compiled.agentOwners).toEqual(new Map([['analytics-agent', 'olivia@example.com']]));
  });

  it('refuses one agent listed twice in different case with different owners', () => {
    expect(() =>
      parsePolicy(
        [
          'agents:',
          '  deploy-bot: { owner: carol@example.com }',
          '  Deploy-Bot: { owner: dave@example.com }',
          'rules: []',
        ].join('\n'),
        'twice.yaml',
      ),
    ).toThrow(/listed twice/);
  });

  it('refuses group references that are only Object.prototype members', () => {
    expect(() =>
      parsePolicy(
        ['rules:', '  - name: r', '    actions: [x]', '    approvers: [group:constructor]'].join('\n'),
        'proto.yaml',
      ),
    ).toThrow(/unknown group "constructor"/);
  });

  it('accepts an empty file as a policy with no rules (every action then matches nothing)', () => {
    const empty = parsePolicy('', 'empty.yaml');
    expect(empty.rules).toEqual([]);
    expect(matchRule(empty, { action: 'db.export' })).toBeUndefined();
  });
});

describe('parsePolicy: errors name the line and the field', () => {
  it('YAML syntax error', () => {
    const problems = problemsOf(
      ['rules:', '  - name: a', '    actions: [db.export', '    approvers: [bob@example.com]', ''].join('\n'),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ line: 4, field: '(yaml)' });
    expect(problems[0]?.message).toMatch(/flow sequence/i);
  });

  it('duplicate YAML key', () => {
    expect(problemsOf('rules: []\nrules: []\n')).toEqual([
      { line: 2, column: 1, field: '(yaml)', message: expect.stringMatching(/unique/i) as string },
    ]);
  });

  it('unknown top-level field', () => {
    expect(problemsOf('groups: {}\nrulez: []\n')).toEqual([
      { line: 2, column: 1, field: 'rulez', message: 'unknown field' },
    ]);
  });

  it('unknown field inside a rule', () => {
    expect(
      problemsOf(
        oneRule('name: a', 'actions: [x]', 'approvers: [bob@example.com]', 'approver: [bob@example.com]'),
      ),
    ).toEqual([{ line: 5, column: 5, field: 'rules[0].approver', message: 'unknown field' }]);
  });

  it('unknown field whose value is a block on the following lines is reported at its key', () => {
    expect(
      problemsOf(oneRule('name: a', 'actions: [x]', 'approvers: [bob@example.com]', 'extra:', '  foo: 1')),
    ).toEqual([{ line: 5, column: 5, field: 'rules[0].extra', message: 'unknown field' }]);
  });

  it('wrong type: quorum: "two"', () => {
    const problems = problemsOf(
      oneRule('name: a', 'actions: [x]', 'approvers: [bob@example.com]', 'quorum: "two"'),
    );
    expect(problems).toEqual([
      {
        line: 5,
        column: 13,
        field: 'rules[0].quorum',
        message: expect.stringMatching(/expected number/) as string,
      },
    ]);
  });

  it('bad email in approvers', () => {
    const problems = problemsOf(
      oneRule('name: a', 'actions: [x]', 'approvers:', '  - bob@example.com', '  - not-an-email'),
    );
    expect(problems).toEqual([
      {
        line: 6,
        column: 9,
        field: 'rules[0].approvers[1]',
        message: expect.stringMatching(/email/) as string,
      },
    ]);
  });

  it('bad email in a group', () => {
    expect(problemsOf('groups:\n  g: [bob@example.com, nope]\nrules: []\n')).toEqual([
      { line: 2, column: 24, field: 'groups.g[1]', message: expect.stringMatching(/email/i) as string },
    ]);
  });

  it('unknown group', () => {
    const problems = problemsOf(
      [
        'groups:',
        '  a: [bob@example.com]',
        'rules:',
        '  - name: r',
        '    actions: [x]',
        '    approvers: [group:a, group:nope]',
      ].join('\n'),
    );
    expect(problems).toEqual([
      { line: 6, column: 26, field: 'rules[0].approvers[1]', message: 'unknown group "nope"' },
    ]);
  });

  it('unknown group in defaults.approvers is reported there, not at the rule that inherits it', () => {
    const problems = problemsOf(
      ['defaults:', '  approvers: [group:nope]', 'rules:', '  - name: r', '    actions: [x]'].join('\n'),
    );
    expect(problems).toEqual([
      { line: 2, column: 15, field: 'defaults.approvers[0]', message: 'unknown group "nope"' },
    ]);
  });

  it('duplicate rule name', () => {
    const problems = problemsOf(
      [
        'rules:',
        '  - name: a',
        '    actions: [x]',
        '    approvers: [bob@example.com]',
        '  - name: a',
        '    actions: [y]',
        '    approvers: [bob@example.com]',
      ].join('\n'),
    );
    expect(problems).toEqual([
      { line: 5, column: 11, field: 'rules[1].name', message: 'duplicate rule name "a"' },
    ]);
  });

  it('rule without approvers and without autoApprove (reported at the rule)', () => {
    const problems = problemsOf(
      [
        'rules:',
        '  - name: ok',
        '    actions: [x]',
        '    approvers: [bob@example.com]',
        '  - name: nobody',
        '    actions: [y]',
      ].join('\n'),
    );
    expect(problems).toEqual([
      {
        line: 5,
        column: 5,
        field: 'rules[1].approvers',
        message: 'rule "nobody" needs approvers (or autoApprove: true)',
      },
    ]);
  });

  it('a rule with autoApprove: false still needs approvers', () => {
    const problems = problemsOf(oneRule('name: a', 'actions: [x]', 'autoApprove: false'));
    expect(problems).toMatchObject([{ line: 2, field: 'rules[0].approvers' }]);
  });

  it('quorum larger than the approvers it names (groups counted by distinct member)', () => {
    const problems = problemsOf(
      [
        'groups:',
        '  g: [bob@example.com, carol@example.com]',
        'rules:',
        '  - name: a',
        '    actions: [x]',
        '    approvers: [group:g, bob@example.com]',
        '    quorum: 3',
      ].join('\n'),
    );
    expect(problems).toEqual([
      {
        line: 7,
        column: 13,
        field: 'rules[0].quorum',
        message: 'rule "a" needs 3 approvals but names only 2 approver(s)',
      },
    ]);
  });

  it('bad duration: "5 weeks"', () => {
    const problems = problemsOf(
      oneRule('name: a', 'actions: [x]', 'approvers: [bob@example.com]', 'expiresIn: 5 weeks'),
    );
    expect(problems).toEqual([
      {
        line: 5,
        column: 16,
        field: 'rules[0].expiresIn',
        message: expect.stringMatching(/duration/) as string,
      },
    ]);
  });

  it('bad duration in defaults', () => {
    expect(problemsOf('defaults:\n  expiresIn: soon\nrules: []\n')).toMatchObject([
      { line: 2, column: 14, field: 'defaults.expiresIn' },
    ]);
  });

  it('bad channel format', () => {
    const problems = problemsOf(
      oneRule('name: a', 'actions: [x]', 'approvers: [bob@example.com]', 'channel: C0DATA'),
    );
    expect(problems).toEqual([
      {
        line: 5,
        column: 14,
        field: 'rules[0].channel',
        message: 'must be "slack:<channel id>" or "teams:<conversation id>"',
      },
    ]);
  });

  it('bad channel format inside channels and in defaults', () => {
    expect(
      problemsOf(
        oneRule(
          'name: a',
          'actions: [x]',
          'approvers: [bob@example.com]',
          'channels: [slack:C1, "discord:x"]',
        ),
      ),
    ).toMatchObject([{ line: 5, column: 26, field: 'rules[0].channels[1]' }]);
    expect(problemsOf('defaults:\n  channel: slack\nrules: []\n')).toMatchObject([
      { line: 2, column: 12, field: 'defaults.channel' },
    ]);
  });

  it('reports every schema problem at once, each at its own line', () => {
    const problems = problemsOf(
      [
        'rulez: 1',
        'rules:',
        '  - name: a',
        '    actions: [x]',
        '    approvers: [bob]',
        '    quorum: "2"',
      ].join('\n'),
    );
    expect(problems.map((p) => [p.line, p.field]).sort()).toEqual(
      [
        [1, 'rulez'],
        [5, 'rules[0].approvers[0]'],
        [6, 'rules[0].quorum'],
      ].sort(),
    );
  });

  it('a document that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n')).toMatchObject([{ line: 1, column: 1, field: '(root)' }]);
  });
});

describe('loadPolicyFile and loadPolicy', () => {
  let file: TempPolicyFile;
  beforeAll(async () => {
    file = await writeTempPolicy(SPEC_POLICY_YAML);
  });
  afterAll(async () => {
    await file?.remove();
  });

  it('loads a file from disk, naming it as the source', async () => {
    const policy = await loadPolicyFile(file.path);
    expect(policy.source).toBe(file.path);
    expect(policy.rules.map((r) => r.name)).toEqual(['data-exports', 'privilege-escalation', 'read-only']);
    expect(await loadPolicy(file.path)).toEqual(policy);
  });

  it('a missing file is a PolicyError naming the path', async () => {
    const missing = `${file.path}.does-not-exist`;
    const error: unknown = await loadPolicyFile(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).source).toBe(missing);
    expect((error as PolicyError).problems).toEqual([
      { line: 1, column: 1, field: '(file)', message: 'file not found' },
    ]);
    expect((error as PolicyError).message).toContain(missing);
    await expect(loadPolicy(missing)).rejects.toBeInstanceOf(PolicyError);
  });

  it('an invalid file names the path and the line', async () => {
    const bad = await writeTempPolicy(
      oneRule('name: a', 'actions: [x]', 'approvers: [bob@example.com]', 'quorum: two'),
    );
    try {
      const error: unknown = await loadPolicyFile(bad.path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as PolicyError).message).toContain(`${bad.path}: invalid policy`);
      expect((error as PolicyError).message).toContain('line 5, column 13: rules[0].quorum');
    } finally {
      await bad.remove();
    }
  });

  it('loadPolicy(undefined) is the built-in default: one catch-all rule, anyone, quorum 1, 1 hour', async () => {
    const policy = await loadPolicy(undefined);
    expect(policy).toBe(BUILT_IN_POLICY);
    expect(policy.source).toBe('built-in default');
    expect(policy.rules).toEqual([
      {
        name: 'default',
        actions: ['*'],
        approvers: null,
        quorum: 1,
        denyQuorum: 1,
        expiresInSeconds: 3600,
        channels: [],
        defaultChannels: [],
        sensitive: [],
        mask: [],
        maskRequesterName: false,
        autoApprove: false,
        denyReasonRequired: false,
        grantUpToSeconds: null,
        when: null,
        keys: null,
        refusal: null,
        requireProvenRequester: false,
      },
    ]);
    expect(matchRule(policy, { action: 'anything.at.all' })?.name).toBe('default');
  });

  it('loadPolicy("") is the built-in default too (an empty COUNTERSIGN_POLICY)', async () => {
    expect(await loadPolicy('')).toBe(BUILT_IN_POLICY);
  });
});
