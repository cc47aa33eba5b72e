// remind:, escalate: and notifyRequester: in a policy rule: compiled with groups expanded, and
// every mistake refused with its line and field.
import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError, type PolicyProblem } from './load-policy.ts';

function problemsOf(text: string): PolicyProblem[] {
  try {
    parsePolicy(text, 'test.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return (error as PolicyError).problems;
  }
  throw new Error('expected a PolicyError, but the policy parsed');
}

const HEAD = `groups:
  security-leads: [lead@example.com, Boss@Example.com]
rules:
  - name: privilege-escalation
    actions: ["iam.*"]
    approvers: [bob@example.com]
    expiresIn: 1h
`;

describe('follow-up settings in a policy rule', () => {
  it('compiles reminders, the escalation (groups expanded) and notifyRequester', () => {
    const policy = parsePolicy(
      `${HEAD}    remind: [15m, 45m]
    escalate:
      after: 30m
      approvers: [group:security-leads, carol@example.com]
      channel: slack:C0ESCALATE
    notifyRequester: false
`,
      'p.yaml',
    );
    expect(policy.rules[0]?.followUp).toEqual({
      remindSeconds: [900, 2700],
      escalate: {
        afterSeconds: 1800,
        approvers: ['lead@example.com', 'boss@example.com', 'carol@example.com'],
        channel: 'slack:C0ESCALATE',
      },
      notifyRequester: false,
    });
  });

  it('leaves a rule without them as it was (the requester is told by default)', () => {
    const policy = parsePolicy(HEAD, 'p.yaml');
    expect(policy.rules[0]?.followUp).toBeUndefined();
    const only = parsePolicy(`${HEAD}    remind: [10m]\n`, 'p.yaml');
    expect(only.rules[0]?.followUp).toEqual({ remindSeconds: [600], escalate: null, notifyRequester: true });
  });

  it.each([
    [
      'a reminder after the expiry',
      '    remind: [10m, 2h]\n',
      8,
      'rules[0].remind[1]',
      /after the request expires/,
    ],
    ['reminders out of order', '    remind: [20m, 10m]\n', 8, 'rules[0].remind[1]', /ascending order/],
    ['a reminder that is no duration', '    remind: [soon]\n', 8, 'rules[0].remind[0]', /duration/],
    ['an empty reminder list', '    remind: []\n', 8, 'rules[0].remind', /at least 1|>=1/],
    [
      'an escalation after the expiry',
      '    escalate: { after: 2h, approvers: [lead@example.com] }\n',
      8,
      'rules[0].escalate.after',
      /after the request expires/,
    ],
    [
      'an escalation to an unknown group',
      '    escalate:\n      after: 10m\n      approvers: [group:nobody]\n',
      10,
      'rules[0].escalate.approvers[0]',
      /unknown group "nobody"/,
    ],
    [
      'an escalation without approvers',
      '    escalate:\n      after: 10m\n',
      9,
      'rules[0].escalate.approvers',
      /expected array|Invalid input/,
    ],
    [
      'an escalation channel that is no channel',
      '    escalate:\n      after: 10m\n      approvers: [lead@example.com]\n      channel: "#security"\n',
      11,
      'rules[0].escalate.channel',
      /slack:<channel id>/,
    ],
    [
      'an unknown escalation field',
      '    escalate: { after: 10m, approvers: [a@example.com], when: 1 }\n',
      8,
      'rules[0].escalate.when',
      /unknown field/,
    ],
    [
      'a notifyRequester that is no boolean',
      '    notifyRequester: yes please\n',
      8,
      'rules[0].notifyRequester',
      /boolean/,
    ],
  ])('refuses %s with its line and field', (_name, lines, line, field, message) => {
    const problems = problemsOf(`${HEAD}${lines}`);
    expect(problems).toContainEqual(
      expect.objectContaining({ line, field, message: expect.stringMatching(message) as string }),
    );
  });

  it('measures reminders against the defaults’ expiry when the rule sets none', () => {
    const problems = problemsOf(`defaults:
  expiresIn: 20m
rules:
  - name: r
    actions: ["*"]
    approvers: [bob@example.com]
    remind: [30m]
`);
    expect(problems).toEqual([
      expect.objectContaining({
        line: 7,
        field: 'rules[0].remind[0]',
        message: expect.stringMatching(/expiresIn 1200s/) as string,
      }),
    ]);
  });

  it('refuses nudges on a rule that decides at once', () => {
    const problems = problemsOf(`rules:
  - name: r
    actions: ["*.read"]
    autoApprove: true
    keys: [ci]
    remind: [5m]
`);
    expect(problems).toEqual([
      expect.objectContaining({
        line: 6,
        field: 'rules[0].remind',
        message: expect.stringMatching(/autoApprove/) as string,
      }),
    ]);
  });
});
