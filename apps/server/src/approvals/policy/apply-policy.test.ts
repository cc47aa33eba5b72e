// Rule matching and what a request may change (spec §3.3, §4): narrowing is fine, widening is
// refused with a pointer to the field that tried.
import { describe, expect, it } from 'vitest';
import { SPEC_POLICY_YAML } from '../../../../../test/support/policy-files.ts';
import { AppError } from '../../errors.ts';
import { applyPolicy, type RequestedRules, type ResolvedRules } from './apply-policy.ts';
import { parsePolicy } from './load-policy.ts';
import { BUILT_IN_POLICY, matchRule, type Policy } from './policy.ts';

const spec = parsePolicy(SPEC_POLICY_YAML, 'spec.yaml');

function policy(yaml: string): Policy {
  return parsePolicy(yaml, 'test.yaml');
}

/** The AppError `applyPolicy` throws for this request; fails the test if it resolves. */
function refusal(p: Policy, requested: RequestedRules): AppError {
  let resolved: ResolvedRules | undefined;
  try {
    resolved = applyPolicy(p, requested);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`expected a refusal, got ${JSON.stringify(resolved)}`);
}

function pointersOf(error: AppError): string[] {
  return (error.errors ?? []).map((e) => e.pointer);
}

const alice = 'alice@example.com';

describe('matchRule: first match wins, globs', () => {
  const overlapping = policy(
    [
      'rules:',
      '  - name: exports-specific',
      '    actions: ["db.export"]',
      '    approvers: [bob@example.com]',
      '  - name: all-db',
      '    actions: ["db.*"]',
      '    approvers: [carol@example.com]',
      '  - name: everything',
      '    actions: ["*"]',
      '    approvers: [dave@example.com]',
    ].join('\n'),
  );

  it('when two rules match, the first one in the file decides', () => {
    // db.export matches both "db.export" and "db.*" (and "*"): the first wins.
    expect(matchRule(overlapping, { action: 'db.export' })?.name).toBe('exports-specific');
    expect(matchRule(overlapping, { action: 'db.drop' })?.name).toBe('all-db');
    expect(matchRule(overlapping, { action: 'iam.role.grant' })?.name).toBe('everything');
    expect(applyPolicy(overlapping, { action: 'db.export', requesterEmail: alice }).policyRule).toBe(
      'exports-specific',
    );
  });

  it('the order of the rules is what counts, not how specific they are', () => {
    const reversed = policy(
      [
        'rules:',
        '  - name: all-db',
        '    actions: ["db.*"]',
        '    approvers: [carol@example.com]',
        '  - name: exports-specific',
        '    actions: ["db.export"]',
        '    approvers: [bob@example.com]',
      ].join('\n'),
    );
    expect(matchRule(reversed, { action: 'db.export' })?.name).toBe('all-db');
  });

  it.each([
    ['iam.*', 'iam.role.grant', true],
    ['iam.*', 'iam.user', true],
    ['iam.*', 'iam', false],
    ['iam.*', 'xiam.role', false],
    ['*.read', 'db.users.read', true],
    ['*.read', 'users.read', true],
    ['*.read', 'db.users.reader', false],
    ['*.read', 'read', false],
    ['db.export', 'db.export', true],
    ['db.export', 'db.exporter', false],
    ['db.export', 'xdb.export', false],
    ['db.export', 'dbxexport', false],
    ['db.export.*', 'db.export.s3', true],
    ['*', 'anything.at.all', true],
  ])('glob %s against %s → %s', (glob, action, matches) => {
    const p = policy(`rules:\n  - name: r\n    actions: ["${glob}"]\n    approvers: [bob@example.com]\n`);
    expect(matchRule(p, { action })?.name).toBe(matches ? 'r' : undefined);
  });

  it('the spec example routes actions to its rules', () => {
    expect(matchRule(spec, { action: 'db.export' })?.name).toBe('data-exports');
    expect(matchRule(spec, { action: 'db.export.s3' })?.name).toBe('data-exports');
    expect(matchRule(spec, { action: 'db.exporter' })).toBeUndefined();
    expect(matchRule(spec, { action: 'iam.role.grant' })?.name).toBe('privilege-escalation');
    expect(matchRule(spec, { action: 'db.users.read', context: { rows: 10 } })?.name).toBe('read-only');
    expect(matchRule(spec, { action: 'k8s.deploy' })).toBeUndefined();
  });

  it('no match → NO_MATCHING_RULE (422) pointing at /action', () => {
    const error = refusal(spec, { action: 'k8s.deploy', requesterEmail: alice });
    expect(error.code).toBe('NO_MATCHING_RULE');
    expect(error.status).toBe(422);
    expect(pointersOf(error)).toEqual(['/action']);
    expect(error.detail).toContain('k8s.deploy');
  });

  it('a catch-all "*" rule takes what no earlier rule matched', () => {
    const withCatchAll = policy(
      SPEC_POLICY_YAML + '  - name: catch-all\n    actions: ["*"]\n    approvers: [group:security]\n',
    );
    expect(applyPolicy(withCatchAll, { action: 'k8s.deploy', requesterEmail: alice }).policyRule).toBe(
      'catch-all',
    );
    // ...but never shadows an earlier rule.
    expect(applyPolicy(withCatchAll, { action: 'db.export', requesterEmail: alice }).policyRule).toBe(
      'data-exports',
    );
  });
});

describe('applyPolicy: what a request gets from its rule', () => {
  it('without overrides, the rule decides everything', () => {
    expect(applyPolicy(spec, { action: 'iam.role.grant', requesterEmail: alice })).toEqual({
      policyRule: 'privilege-escalation',
      approvers: ['dave@example.com', 'erin@example.com', 'frank@example.com'],
      approverGroups: { security: ['dave@example.com', 'erin@example.com', 'frank@example.com'] },
      anyApprover: false,
      agentOwner: null,
      quorum: 2,
      denyQuorum: 1,
      expiresInSeconds: 1800,
      grantUpToSeconds: null,
      channel: 'slack:C0SEC',
      channels: ['slack:C0SEC'],
      sensitive: [],
      maskPersonalData: false,
      maskRequesterName: false,
      autoApprove: false,
      denyReasonRequired: false,
      requireProvenRequester: false,
    });
  });

  it('sensitive pointers of the rule and of the request are combined, once each', () => {
    const resolved = applyPolicy(spec, {
      action: 'db.export',
      requesterEmail: alice,
      sensitive: ['/destination', '/connection'],
    });
    expect(resolved.sensitive).toEqual(['/connection', '/destination']);
  });

  it('an autoApprove rule resolves with autoApprove set', () => {
    expect(
      applyPolicy(spec, { action: 'db.users.read', requesterEmail: alice, context: { rows: 10 } }),
    ).toMatchObject({
      policyRule: 'read-only',
      autoApprove: true,
      quorum: 1,
      channel: 'slack:C0APPROVALS',
    });
  });
});

describe('applyPolicy: narrowing is allowed, widening is refused', () => {
  it('approvers: a subset of the rule’s approvers is fine (case does not matter)', () => {
    const resolved = applyPolicy(spec, {
      action: 'iam.role.grant',
      requesterEmail: alice,
      approvers: ['Dave@Example.com', 'erin@example.com', 'dave@example.com'],
    });
    expect(resolved.approvers).toEqual(['dave@example.com', 'erin@example.com']);
    expect(resolved.anyApprover).toBe(false);
  });

  it('approvers: one the rule does not allow → POLICY_VIOLATION at /approvers/<i>', () => {
    const error = refusal(spec, {
      action: 'db.export',
      requesterEmail: alice,
      approvers: ['bob@example.com', 'mallory@example.com', 'carol@example.com', 'eve@example.com'],
    });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(error.status).toBe(422);
    expect(pointersOf(error)).toEqual(['/approvers/1', '/approvers/3']);
    expect(error.errors?.[0]?.message).toContain('mallory@example.com');
  });

  it('quorum: raising it is fine', () => {
    expect(applyPolicy(spec, { action: 'iam.role.grant', requesterEmail: alice, quorum: 3 }).quorum).toBe(3);
  });

  it('quorum: lowering it → /quorum', () => {
    const error = refusal(spec, { action: 'iam.role.grant', requesterEmail: alice, quorum: 1 });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(pointersOf(error)).toEqual(['/quorum']);
  });

  it('expiresIn: shorter is fine, equal is fine', () => {
    expect(
      applyPolicy(spec, { action: 'iam.role.grant', requesterEmail: alice, expiresIn: 600 }).expiresInSeconds,
    ).toBe(600);
    expect(
      applyPolicy(spec, { action: 'iam.role.grant', requesterEmail: alice, expiresIn: 1800 })
        .expiresInSeconds,
    ).toBe(1800);
  });

  it('expiresIn: longer → /expiresIn', () => {
    const error = refusal(spec, { action: 'iam.role.grant', requesterEmail: alice, expiresIn: 1801 });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(pointersOf(error)).toEqual(['/expiresIn']);
  });

  it('channel: any of the rule’s channels is fine', () => {
    expect(
      applyPolicy(spec, {
        action: 'iam.role.grant',
        requesterEmail: alice,
        channel: 'teams:19:abc@thread.tacv2',
      }).channel,
    ).toBe('teams:19:abc@thread.tacv2');
    expect(
      applyPolicy(spec, { action: 'db.export', requesterEmail: alice, channel: 'slack:C0DATA' }).channel,
    ).toBe('slack:C0DATA');
  });

  it('channel: another one → /channel (also the defaults’ channel when the rule names its own)', () => {
    expect(
      pointersOf(refusal(spec, { action: 'iam.role.grant', requesterEmail: alice, channel: 'slack:C0DATA' })),
    ).toEqual(['/channel']);
    expect(
      pointersOf(refusal(spec, { action: 'db.export', requesterEmail: alice, channel: 'slack:C0APPROVALS' })),
    ).toEqual(['/channel']);
  });

  it('every widening field is reported at once', () => {
    const error = refusal(spec, {
      action: 'iam.role.grant',
      requesterEmail: alice,
      approvers: ['dave@example.com', 'mallory@example.com'],
      quorum: 1,
      expiresIn: 7200,
      channel: 'slack:C0OTHER',
    });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(pointersOf(error)).toEqual(['/approvers/1', '/quorum', '/expiresIn', '/channel']);
  });

  it('quorum that cannot be met once the requester is excluded → refused', () => {
    // Two approvers, quorum 2, and the requester is one of them: only one person can decide.
    const p = policy(
      'rules:\n  - name: pair\n    actions: [x]\n    approvers: [alice@example.com, bob@example.com]\n    quorum: 2\n',
    );
    const error = refusal(p, { action: 'x', requesterEmail: 'Alice@Example.com' });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(error.errors).toHaveLength(1);
    expect(error.errors?.[0]?.message).toMatch(/only 1 eligible approver/);
    // Someone else may ask.
    expect(applyPolicy(p, { action: 'x', requesterEmail: 'carol@example.com' }).quorum).toBe(2);
  });

  it('quorum raised by the request beyond the eligible approvers → /quorum', () => {
    const error = refusal(spec, { action: 'iam.role.grant', requesterEmail: 'dave@example.com', quorum: 3 });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(pointersOf(error)).toEqual(['/quorum']);
  });

  it('narrowed approvers that leave only the requester → refused at /approvers', () => {
    const error = refusal(spec, {
      action: 'db.export',
      requesterEmail: 'bob@example.com',
      approvers: ['bob@example.com'],
    });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(pointersOf(error)).toEqual(['/approvers']);
  });

  it('the agent’s owner named under `agents:` is excluded like the requester', () => {
    const p = policy(
      [
        'agents:',
        '  analytics-agent: { owner: Carol@Example.com }',
        'rules:',
        '  - name: pair',
        '    actions: [x]',
        '    approvers: [bob@example.com, carol@example.com, dave@example.com]',
        '    quorum: 2',
      ].join('\n'),
    );
    // alice asks through carol's agent: bob and dave remain, quorum 2 is still possible...
    expect(
      applyPolicy(p, { action: 'x', requesterEmail: alice, agentName: 'analytics-agent' }),
    ).toMatchObject({
      agentOwner: 'carol@example.com',
      quorum: 2,
    });
    // ...but bob asking through carol's agent leaves only dave.
    const error = refusal(p, {
      action: 'x',
      requesterEmail: 'bob@example.com',
      agentName: 'analytics-agent',
    });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(error.detail).toMatch(/agent's owner/);
    // An agent the policy does not name has no owner to exclude.
    expect(
      applyPolicy(p, { action: 'x', requesterEmail: 'bob@example.com', agentName: 'other-agent' }),
    ).toMatchObject({ agentOwner: null, quorum: 2 });
  });

  it('agent names compare case-insensitively: Deploy-Bot is the agent owned as deploy-bot', () => {
    const p = policy(
      [
        'agents:',
        '  deploy-bot: { owner: carol@example.com }',
        'rules:',
        '  - name: r',
        '    actions: [x]',
        '    approvers: [bob@example.com, carol@example.com]',
      ].join('\n'),
    );
    for (const agentName of ['Deploy-Bot', 'DEPLOY-BOT', 'deploy-bot']) {
      expect(applyPolicy(p, { action: 'x', requesterEmail: alice, agentName }).agentOwner).toBe(
        'carol@example.com',
      );
    }
  });

  it('agent names like constructor, __proto__ or toString are names, not object lookups', () => {
    for (const agentName of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(
        applyPolicy(spec, { action: 'db.export', requesterEmail: alice, agentName }).agentOwner,
      ).toBeNull();
    }
    const p = policy(
      [
        'agents:',
        '  constructor: { owner: carol@example.com }',
        'rules:',
        '  - name: r',
        '    actions: [x]',
        '    approvers: [bob@example.com, carol@example.com]',
      ].join('\n'),
    );
    expect(applyPolicy(p, { action: 'x', requesterEmail: alice, agentName: 'Constructor' }).agentOwner).toBe(
      'carol@example.com',
    );
  });

  it('an autoApprove rule needs no eligible approvers', () => {
    expect(
      applyPolicy(spec, { action: 'db.users.read', requesterEmail: alice, context: { rows: 10 } })
        .autoApprove,
    ).toBe(true);
  });
});

describe('applyPolicy: the built-in default', () => {
  it('anyone may approve (anyApprover), quorum 1, expiry 3600, channel from the request', () => {
    expect(
      applyPolicy(BUILT_IN_POLICY, { action: 'db.export', requesterEmail: alice, channel: 'slack:C0ANY' }),
    ).toEqual({
      policyRule: 'default',
      approvers: [],
      approverGroups: {},
      anyApprover: true,
      agentOwner: null,
      quorum: 1,
      denyQuorum: 1,
      expiresInSeconds: 3600,
      grantUpToSeconds: null,
      channel: 'slack:C0ANY',
      channels: ['slack:C0ANY'],
      sensitive: [],
      maskPersonalData: false,
      maskRequesterName: false,
      autoApprove: false,
      denyReasonRequired: false,
      requireProvenRequester: false,
    });
  });

  it('takes a list of channels within what the rule allows, and names each channel it refuses', () => {
    const resolved = applyPolicy(spec, {
      action: 'iam.role.grant',
      requesterEmail: alice,
      channel: ['slack:C0SEC', 'teams:19:abc@thread.tacv2'],
    });
    expect(resolved).toMatchObject({
      channel: 'slack:C0SEC',
      channels: ['slack:C0SEC', 'teams:19:abc@thread.tacv2'],
    });
    const error = refusal(spec, {
      action: 'iam.role.grant',
      requesterEmail: alice,
      channel: ['slack:C0SEC', 'slack:C0ELSE'],
    });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(pointersOf(error)).toEqual(['/channel/1']);
  });

  it('without a channel in the request there is none', () => {
    expect(applyPolicy(BUILT_IN_POLICY, { action: 'db.export', requesterEmail: alice }).channel).toBeNull();
  });

  it('any approvers the request names are allowed, and then only they may decide', () => {
    const resolved = applyPolicy(BUILT_IN_POLICY, {
      action: 'db.export',
      requesterEmail: alice,
      approvers: ['Zoe@Example.com', 'yan@example.com'],
      quorum: 2,
    });
    expect(resolved).toMatchObject({
      approvers: ['zoe@example.com', 'yan@example.com'],
      anyApprover: false,
      quorum: 2,
    });
  });

  it('still refuses a longer expiry than one hour', () => {
    expect(
      pointersOf(refusal(BUILT_IN_POLICY, { action: 'db.export', requesterEmail: alice, expiresIn: 3601 })),
    ).toEqual(['/expiresIn']);
  });

  it('refuses approvers that are only the requester', () => {
    const error = refusal(BUILT_IN_POLICY, {
      action: 'db.export',
      requesterEmail: alice,
      approvers: [alice],
    });
    expect(error.code).toBe('POLICY_VIOLATION');
    expect(pointersOf(error)).toEqual(['/approvers']);
  });
});
