// `countersign gateway check FILE`: exit 0 with a summary for a valid file; exit 1 with the line
// and the reason for a bad one; a secret's value never printed.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, describeRun, runCli } from '../support/cli.ts';

describe('countersign gateway check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-gateway-check-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a valid file and names the secrets each server gets, never their values', async () => {
    const secretFile = join(dir, 'token');
    await writeFile(secretFile, 'file-secret-value-123\n');
    await chmod(secretFile, 0o600);
    const file = join(dir, 'ok.yaml');
    await writeFile(
      file,
      `servers:\n  files:\n    command: npx\n    args: [-y, "@modelcontextprotocol/server-filesystem", /srv]\n    env: { TOKEN: "secret:tok", OTHER: "secret:envtok" }\nsecrets:\n  tok: file:${secretFile}\n  envtok: env:GW_TEST_TOKEN\n`,
    );
    const result = await runCli(
      ['gateway', 'check', file],
      cliEnv({ GW_TEST_TOKEN: 'env-secret-value-456' }),
    );
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain('valid, 1 server(s)');
    expect(result.stdout).toContain(
      'files (stdio): npx -y @modelcontextprotocol/server-filesystem /srv; secrets: envtok, tok',
    );
    expect(result.stdout + result.stderr).not.toContain('file-secret-value-123');
    expect(result.stdout + result.stderr).not.toContain('env-secret-value-456');
  });

  it('refuses unknown keys, duplicate server names and missing secrets with line and reason', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'servers:\n  a: { command: x, env: { T: "secret:nope" } }\n  a: { command: y }\ntool: []\n',
    );
    const result = await runCli(['gateway', 'check', file], cliEnv({}));
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(`${file}: invalid gateway file`);
    expect(result.stderr).toContain('line 3, column 3: servers.a: duplicate server name "a"');
    expect(result.stderr).toContain('line 4, column 1: tool: unknown field');
  });

  it('refuses a missing secret variable with its line', async () => {
    const file = join(dir, 'missing.yaml');
    await writeFile(
      file,
      'servers:\n  a: { command: x, env: { T: "secret:t" } }\nsecrets:\n  t: env:GW_UNSET_VAR\n',
    );
    const result = await runCli(['gateway', 'check', file], cliEnv({}));
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(
      'line 4, column 6: secrets.t: environment variable GW_UNSET_VAR is not set',
    );
  });
});
