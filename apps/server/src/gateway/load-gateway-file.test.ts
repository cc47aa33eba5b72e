// The gateway file: line-precise refusals (unknown key, missing secret, duplicate server name,
// bad secret file mode) and secrets substituted into env and headers only.
import { describe, expect, it } from 'vitest';
import {
  GatewayFileError,
  loadGatewayText,
  type GatewayProblem,
  type SecretReader,
} from './load-gateway-file.ts';

function fileOf(files: Record<string, [string, number]>, path: string): [string, number] {
  const file = files[path];
  if (!file) throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
  return file;
}

function reader(
  env: Record<string, string> = {},
  files: Record<string, [string, number]> = {},
): SecretReader {
  return {
    env,
    readFile: (path) => Promise.resolve(fileOf(files, path)[0]),
    modeOf: (path) => Promise.resolve(fileOf(files, path)[1]),
  };
}

async function problemsOf(text: string, secrets = reader()): Promise<GatewayProblem[]> {
  try {
    await loadGatewayText(text, 'gw.yaml', secrets);
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayFileError);
    const e = error as GatewayFileError;
    for (const p of e.problems) {
      expect(e.message).toContain(`line ${p.line}, column ${p.column}: ${p.field}: ${p.message}`);
    }
    return e.problems;
  }
  throw new Error('expected a GatewayFileError, but the file loaded');
}

const GOOD = `servers:
  github:
    command: npx
    args: [-y, "@modelcontextprotocol/server-github"]
    env: { GITHUB_TOKEN: "secret:github-token", PLAIN: "x" }
  billing:
    url: https://billing.internal/mcp
    headers: { Authorization: "Bearer \${secret:billing}" }
tools:
  - match: "github__delete_*"
    decide: ask
  - match: "files__read_*"
    decide: allow
default: ask
secrets:
  github-token: env:GITHUB_TOKEN
  billing: file:/run/secrets/billing
`;

describe('loadGatewayText', () => {
  it('loads a valid file and puts secrets into env and headers only', async () => {
    const config = await loadGatewayText(
      GOOD,
      'gw.yaml',
      reader(
        { GITHUB_TOKEN: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' },
        {
          '/run/secrets/billing': ['bill-secret-value\n', 0o600],
        },
      ),
    );
    expect(config.servers).toEqual([
      {
        name: 'github',
        kind: 'stdio',
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-github'],
        env: { GITHUB_TOKEN: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', PLAIN: 'x' },
        cwd: undefined,
      },
      {
        name: 'billing',
        kind: 'http',
        url: 'https://billing.internal/mcp',
        headers: { Authorization: 'Bearer bill-secret-value' },
      },
    ]);
    expect(config.secretsByServer).toEqual({ github: ['github-token'], billing: ['billing'] });
    expect(config.secretValues.sort()).toEqual(
      ['bill-secret-value', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'].sort(),
    );
    expect(config.file.default).toBe('ask');
  });

  it('refuses an unknown key with its line', async () => {
    const problems = await problemsOf('servers:\n  a:\n    command: x\n    enviroment: {}\n');
    expect(problems).toEqual([
      {
        line: 4,
        column: 5,
        field: 'servers.a.enviroment',
        message: 'unknown field',
      },
    ]);
  });

  it('refuses a duplicate server name with the line of the second one', async () => {
    const problems = await problemsOf(
      'servers:\n  a: { command: x }\n  b: { command: y }\n  a: { command: z }\n',
    );
    expect(problems).toContainEqual({
      line: 4,
      column: 3,
      field: 'servers.a',
      message: 'duplicate server name "a"',
    });
  });

  it('refuses a secret that is referenced but not declared', async () => {
    const problems = await problemsOf('servers:\n  a:\n    command: x\n    env:\n      TOKEN: secret:nope\n');
    expect(problems).toEqual([
      {
        line: 5,
        column: 14,
        field: 'servers.a.env.TOKEN',
        message: 'secret "nope" is not declared under secrets',
      },
    ]);
  });

  it('refuses a secret whose variable is unset, naming the variable and never a value', async () => {
    const problems = await problemsOf('servers:\n  a: { command: x }\nsecrets:\n  tok: env:MISSING_VAR\n');
    expect(problems).toEqual([
      { line: 4, column: 8, field: 'secrets.tok', message: 'environment variable MISSING_VAR is not set' },
    ]);
  });

  it('refuses a secret file that others may read, and one that is missing', async () => {
    const problems = await problemsOf(
      'servers:\n  a: { command: x }\nsecrets:\n  open: file:/s/open\n  gone: file:/s/gone\n',
      reader({}, { '/s/open': ['value', 0o644] }),
    );
    expect(problems).toEqual([
      {
        line: 4,
        column: 9,
        field: 'secrets.open',
        message: 'file /s/open has mode 0644: others may read it; chmod 600 it',
      },
      { line: 5, column: 9, field: 'secrets.gone', message: 'file /s/gone not found' },
    ]);
  });

  it('refuses a secret in command arguments', async () => {
    const problems = await problemsOf(
      'servers:\n  a: { command: x, args: ["--token=${secret:t}"] }\nsecrets:\n  t: env:T\n',
      reader({ T: 'v' }),
    );
    expect(problems).toEqual([
      {
        line: 2,
        column: 27,
        field: 'servers.a.args[0]',
        message: 'secrets go into env only: arguments are visible to every process on the machine',
      },
    ]);
  });

  it('refuses a server name with "__" and a bad decision', async () => {
    const problems = await problemsOf('servers:\n  a__b: { command: x }\ndefault: maybe\n');
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [2, 'servers.a__b'],
      [3, 'default'],
    ]);
  });

  it('refuses sampling and elicitation settings other than refuse or forward, at their line', async () => {
    const problems = await problemsOf(
      `servers:\n  files: { command: npx }\nsampling: allow\nelicitation: forward\n`,
    );
    expect(problems).toEqual([
      { line: 3, column: 11, field: 'sampling', message: 'must be "refuse" or "forward"' },
    ]);
  });

  it('refuses sampling and elicitation by default', async () => {
    const config = await loadGatewayText(`servers:\n  files: { command: npx }\n`, 'gw.yaml', reader());
    expect([config.file.sampling, config.file.elicitation]).toEqual(['refuse', 'refuse']);
  });
});
