// `countersign request … --wait --exec --secret PGPASSWORD=db-prod -- CMD`: the command finds the
// policy secret in its environment (handed over only in the answer to the approved start); the CLI
// never prints it, and a secret the rule does not list runs nothing.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, startCli, type CliProcess } from '../support/cli.ts';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const VALUE = 'pg-5Rt9-child-only-Qm2w';
const FILE_VALUE = 'tls-8Lk3-from-a-0600-file';

async function waitingOn(cli: CliProcess): Promise<string> {
  for (;;) {
    const match = /request ([0-9a-f-]{36}) \(.*\) is pending; waiting/.exec(cli.stderr());
    if (match?.[1]) return match[1];
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
      expect.fail(`the CLI exited before waiting\n${describeRun(await cli.exited)}`);
    }
    await sleep(50);
  }
}

describe('countersign request --wait --exec --secret', { timeout: 120_000 }, () => {
  let t: TestServer;
  let key: string;
  let dir: string;
  let policy: TempPolicyFile;
  let captured: CapturedLog;
  let runs = 0;

  /** The command writes the named variables of its environment to a file the test reads. */
  const start = (secrets: string[], names: string[]) => {
    const out = join(dir, `env-${++runs}.json`);
    const script = `require('fs').writeFileSync(process.argv[1], JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n] ?? null]))))`;
    const cli = startCli(
      [
        'request',
        '--action',
        'db.migrate',
        '--requester',
        'alice@example.com',
        '--wait',
        '--timeout',
        '60s',
        ...secrets.flatMap((s) => ['--secret', s]),
        '--exec',
        '--',
        process.execPath,
        '-e',
        script,
        out,
      ],
      cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key }),
    );
    return { cli, out };
  };
  const approve = (requestId: string) =>
    recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId,
      verdict: 'approve',
      approver: approver('bob@example.com'),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-exec-secret-'));
    const tlsFile = join(dir, 'tls.key');
    await writeFile(tlsFile, `${FILE_VALUE}\n`);
    await chmod(tlsFile, 0o600);
    policy = await writeTempPolicy(`
secrets:
  db-prod: env:TEST_DB_PROD_PASSWORD
  tls-key: file:${tlsFile}
  db-other: env:TEST_DB_PROD_PASSWORD
rules:
  - name: migrations
    actions: [db.migrate]
    approvers: [bob@example.com]
    secrets: [db-prod, tls-key]
`);
    captured = capturingLogger('debug');
    t = await startTestServer({
      env: { COUNTERSIGN_POLICY: policy.path, TEST_DB_PROD_PASSWORD: VALUE },
      log: captured.log,
    });
    ({ key } = await t.createKey('pipeline'));
  });
  afterAll(async () => {
    await killRunningClis();
    await t?.close();
    await policy?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('puts the secrets in the command’s environment alone, and records only their names', async () => {
    const { cli, out } = start(['PGPASSWORD=db-prod', 'TLS_KEY=tls-key'], ['PGPASSWORD', 'TLS_KEY']);
    const id = await waitingOn(cli);
    // The card and the request show which secrets the command asks for, by name.
    expect(cli.stderr()).not.toContain(VALUE);
    await approve(id);
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual({ PGPASSWORD: VALUE, TLS_KEY: FILE_VALUE });
    expect(result.stderr).toContain('(secrets: PGPASSWORD=db-prod, TLS_KEY=tls-key)');
    for (const text of [result.stdout, result.stderr, captured.text()]) {
      expect(text).not.toContain(VALUE);
      expect(text).not.toContain(FILE_VALUE);
    }
    const stored = await withPgClient(t.database.url, async (client) => {
      const audit = await client.query<{ text: string }>(
        `SELECT string_agg(payload::text, E'\\n') AS text FROM audit_events WHERE request_id = $1`,
        [id],
      );
      const execution = await client.query<{ outcome: string; secrets: string[] }>(
        'SELECT outcome::text AS outcome, secrets FROM request_executions WHERE request_id = $1',
        [id],
      );
      return { audit: audit.rows[0]?.text ?? '', execution: execution.rows[0] };
    });
    expect(stored.execution).toEqual({
      outcome: 'succeeded',
      secrets: ['PGPASSWORD=db-prod', 'TLS_KEY=tls-key'],
    });
    expect(stored.audit).toContain('PGPASSWORD=db-prod');
    expect(stored.audit).not.toContain(VALUE);
    expect(stored.audit).not.toContain(FILE_VALUE);
  });

  it('runs nothing when the rule does not list the secret', async () => {
    const { cli, out } = start(['PGPASSWORD=db-other'], ['PGPASSWORD']);
    const id = await waitingOn(cli);
    await approve(id);
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(3);
    expect(result.stderr).toContain('403 SECRET_NOT_ALLOWED');
    expect(result.stderr).toContain('rule "migrations" does not list secret "db-other"');
    expect(result.stderr).not.toContain(VALUE);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses --secret without --exec, a malformed pair and a variable given twice', async () => {
    const env = cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key });
    const base = ['request', '--action', 'db.migrate', '--requester', 'alice@example.com'];
    const noExec = await startCli([...base, '--secret', 'PGPASSWORD=db-prod'], env).exited;
    expect(noExec.code).toBe(3);
    expect(noExec.stderr).toContain('--secret needs --exec');
    const malformed = await startCli([...base, '--secret', 'db-prod', '--wait', '--exec', '--', 'true'], env)
      .exited;
    expect(malformed.code).toBe(3);
    expect(malformed.stderr).toContain('expected ENV=secret-name');
    const twice = await startCli(
      [...base, '--secret', 'A=db-prod', '--secret', 'A=tls-key', '--wait', '--exec', '--', 'true'],
      env,
    ).exited;
    expect(twice.code).toBe(3);
    expect(twice.stderr).toContain('A is given twice');
  });
});
