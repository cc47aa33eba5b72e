// The policy's identity.issuers section: presets by issuer URL, line-precise errors like every key.
import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicyError } from './load-policy.ts';

const RULES = `rules:
  - { name: all, actions: ["*"], approvers: [a@example.com] }
`;

function problemsOf(text: string): { line: number; field: string; message: string }[] {
  try {
    parsePolicy(text, 'test');
  } catch (error) {
    if (error instanceof PolicyError)
      return error.problems.map(({ line, field, message }) => ({ line, field, message }));
    throw error;
  }
  throw new Error('the policy was accepted');
}

describe('identity.issuers', () => {
  it("GitHub's and gitlab.com's issuers get their presets; maps are lower-cased", () => {
    const policy = parsePolicy(
      `${RULES}identity:
  issuers:
    - { issuer: "https://token.actions.githubusercontent.com", audience: "https://cs.example.com", map: { Octo-Alice: Alice@Example.com } }
    - { issuer: "https://gitlab.com", audience: countersign }
    - { issuer: "https://idp.example.com", audience: cs, requester: email, name: buildkite }
`,
      'test',
    );
    expect(policy.identityIssuers?.map((i) => [i.provider, i.claims.requester, i.claims.runId])).toEqual([
      ['github-actions', 'actor', 'run_id'],
      ['gitlab-ci', 'user_email', 'pipeline_id'],
      ['buildkite', 'email', undefined],
    ]);
    expect(policy.identityIssuers?.[0]?.map.get('octo-alice')).toBe('alice@example.com');
  });

  it('a plain-http issuer off loopback, a missing audience and an unknown field name their lines', () => {
    expect(
      problemsOf(`${RULES}identity:
  issuers:
    - issuer: "http://idp.example.com"
      audience: cs
      requester: email
    - issuer: "https://idp2.example.com"
      requester: email
      clockSkew: 600
`),
    ).toEqual([
      {
        line: 5,
        field: 'identity.issuers[0].issuer',
        message: 'must be https (plain http only on a loopback address)',
      },
      {
        line: 8,
        field: 'identity.issuers[1].audience',
        message: 'Invalid input: expected string, received undefined',
      },
      { line: 10, field: 'identity.issuers[1].clockSkew', message: 'unknown field' },
    ]);
  });

  it('a custom issuer without a requester claim, and an issuer listed twice, are refused with their lines', () => {
    expect(
      problemsOf(`${RULES}identity:
  issuers:
    - { issuer: "https://idp.example.com", audience: cs }
    - { issuer: "https://gitlab.com", audience: a }
    - { issuer: "https://gitlab.com", audience: b }
`),
    ).toEqual([
      {
        line: 5,
        field: 'identity.issuers[0].requester',
        message:
          'issuer https://idp.example.com needs "requester: <claim>" (or a preset: github-actions, gitlab-ci)',
      },
      { line: 7, field: 'identity.issuers[2].issuer', message: 'issuer https://gitlab.com is listed twice' },
    ]);
  });
});
