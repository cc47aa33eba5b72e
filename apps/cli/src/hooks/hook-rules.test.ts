// Rule matching of `countersign hook`: tool names with alternatives, command-line and path globs.
import { describe, expect, it } from 'vitest';
import { globToRegExp, HookRulesError, matchRule, parseHookRules, rulePath } from './hook-rules.ts';

const RULES = parseHookRules(
  `rules:
  - tool: Bash
    command: "psql *"
    action: db.query
  - tool: "Edit|Write"
    path: "infra/prod/**"
    action: infra.edit
  - tool: "mcp__prod__*"
    action: prod.mcp
`,
  'test rules',
).rules;

describe('matchRule', () => {
  it.each([
    [{ toolName: 'Bash', command: "psql -h db -c 'select 1'" }, 'db.query'],
    [{ toolName: 'Bash', command: '  psql -f /tmp/x.sql  ' }, 'db.query'],
    [{ toolName: 'Bash', command: 'ls -la' }, undefined],
    [{ toolName: 'Bash', command: 'echo psql x' }, undefined],
    [{ toolName: 'Bash' }, undefined],
    [{ toolName: 'Edit', filePath: 'infra/prod/main.tf' }, 'infra.edit'],
    [{ toolName: 'Write', filePath: '/repo/infra/prod/a/b.tf', cwd: '/repo' }, 'infra.edit'],
    [{ toolName: 'Write', filePath: '/repo/infra/staging/a.tf', cwd: '/repo' }, undefined],
    [{ toolName: 'Read', filePath: 'infra/prod/main.tf' }, undefined],
    [{ toolName: 'mcp__prod__restart' }, 'prod.mcp'],
    [{ toolName: 'mcp__staging__restart' }, undefined],
  ])('%j → %s', (call, action) => {
    expect(matchRule(RULES, call)?.action).toBe(action);
  });
});

describe('globs', () => {
  it('keeps * within a path segment and lets ** cross them', () => {
    expect(globToRegExp('src/*.ts', 'path').test('src/a.ts')).toBe(true);
    expect(globToRegExp('src/*.ts', 'path').test('src/a/b.ts')).toBe(false);
    expect(globToRegExp('src/**/*.ts', 'path').test('src/a.ts')).toBe(true);
    expect(globToRegExp('src/**/*.ts', 'path').test('src/a/b/c.ts')).toBe(true);
  });

  it('treats regular-expression characters literally', () => {
    expect(globToRegExp('a.b(c)', 'text').test('a.b(c)')).toBe(true);
    expect(globToRegExp('a.b(c)', 'text').test('aXb(c)')).toBe(false);
  });

  it('leaves a path outside cwd absolute', () => {
    expect(rulePath('/etc/passwd', '/repo')).toBe('/etc/passwd');
    expect(rulePath('/repo/x/y', '/repo')).toBe('x/y');
  });
});

describe('parseHookRules', () => {
  it.each([
    ['not YAML', 'rules: [', /not valid YAML/],
    ['an unknown key', 'rules:\n  - tool: Bash\n    action: a.b\n    when: always\n', /Unrecognized key/],
    [
      'a bad action',
      'rules:\n  - tool: Bash\n    action: "not an action"\n',
      /rules\.0\.action must be a dotted name/,
    ],
    ['no rules list', 'tool: Bash\n', /rules/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseHookRules(text, 'f.yaml')).toThrow(HookRulesError);
    expect(() => parseHookRules(text, 'f.yaml')).toThrow(message);
  });
});
