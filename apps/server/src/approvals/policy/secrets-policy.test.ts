// The policy's `secrets:` map and a rule's `secrets:` list: references are env:/file: only, a rule
// names declared secrets only, and every problem names its line and field.
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

const policy = (secrets: string, ruleSecrets: string) => `secrets:
${secrets}
rules:
  - name: db-export
    actions: [db.export]
    approvers: [bob@example.com]
${ruleSecrets}
`;

describe('policy secrets', () => {
  it('compiles the references and the names each rule may hand out', () => {
    const compiled = parsePolicy(
      policy(
        '  db-prod: env:DB_PROD_PASSWORD\n  tls-key: file:/etc/countersign/tls.key',
        '    secrets: [db-prod]',
      ),
      'test.yaml',
    );
    expect(compiled.rules[0]?.secrets).toEqual(['db-prod']);
    expect([...(compiled.secrets ?? new Map<string, string>()).entries()]).toEqual([
      ['db-prod', 'env:DB_PROD_PASSWORD'],
      ['tls-key', 'file:/etc/countersign/tls.key'],
    ]);
  });

  it('refuses a rule naming a secret the policy does not declare, at its line', () => {
    expect(problemsOf(policy('  db-prod: env:DB_PROD_PASSWORD', '    secrets: [db-prod, db-stage]'))).toEqual(
      [
        {
          line: 7,
          column: 24,
          field: 'rules[0].secrets[1]',
          message: 'secret "db-stage" is not declared under the top-level secrets',
        },
      ],
    );
  });

  it('refuses a rule listing secrets when the policy declares none', () => {
    const text = `rules:\n  - name: r\n    actions: [a.b]\n    approvers: [bob@example.com]\n    secrets: [db-prod]\n`;
    expect(problemsOf(text)).toEqual([
      expect.objectContaining({
        line: 5,
        field: 'rules[0].secrets[0]',
        message: 'secret "db-prod" is not declared under the top-level secrets',
      }),
    ]);
  });

  it('refuses a reference that is not env: or file:/absolute, and an unknown field, at their lines', () => {
    expect(
      problemsOf(policy('  db-prod: vault:kv/db\n  rel: file:secrets/db', '    secrets: [db-prod]')),
    ).toEqual([
      expect.objectContaining({
        line: 2,
        field: 'secrets.db-prod',
        message: 'must be "env:NAME" or "file:/absolute/path"',
      }),
      expect.objectContaining({
        line: 3,
        field: 'secrets.rel',
        message: 'must be "env:NAME" or "file:/absolute/path"',
      }),
    ]);
    expect(
      problemsOf(policy('  db-prod: env:DB_PROD_PASSWORD', '    secrets: [db-prod]\n    secretz: [db-prod]')),
    ).toEqual([expect.objectContaining({ line: 8, field: 'rules[0].secretz', message: 'unknown field' })]);
  });
});
