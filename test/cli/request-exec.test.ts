// `countersign request … --wait --exec -- CMD`: the command runs only after an approved receipt
// that verifies and matches this run's digest, and only once; start and outcome are recorded.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../apps/server/src/approvals/payload-digest.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { generateReceiptKey } from '../../apps/server/src/receipts/receipt-key.ts';
import { createReceiptSigner } from '../../apps/server/src/receipts/sign-receipt.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import {
  REPO_ROOT,
  cliEnv,
  describeRun,
  killRunningClis,
  startCli,
  type CliProcess,
} from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const CONTEXT = { service: 'billing', version: '2.4.1', token: 'sk-live-0123456789abcdef' };

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

describe('countersign request --wait --exec', { timeout: 120_000 }, () => {
  let t: TestServer;
  let key: string;
  let dir: string;
  let contextFile: string;
  let runs = 0;

  const execution = (requestId: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{
        outcome: string;
        exit_code: number | null;
        payload_digest: string;
      }>(
        'SELECT outcome::text AS outcome, exit_code, payload_digest FROM request_executions WHERE request_id = $1',
        [requestId],
      );
      return rows[0];
    });
  const decide = (requestId: string, verdict: 'approve' | 'deny') =>
    recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId,
      verdict,
      approver: approver('bob@example.com'),
    });
  /** Starts the CLI with a command that writes a marker file and exits with `exitCode`. */
  const start = (extraArgs: string[] = [], exitCode = 0, marker = join(dir, `ran-${++runs}`)) => {
    const script = `require('fs').writeFileSync(process.argv[1], 'ran'); process.exit(${exitCode})`;
    const cli = startCli(
      [
        'request',
        '--action',
        'deploy.production',
        '--requester',
        'alice@example.com',
        '--context',
        `@${contextFile}`,
        '--wait',
        '--timeout',
        '60s',
        ...extraArgs,
        '--exec',
        '--',
        process.execPath,
        '-e',
        script,
        marker,
      ],
      cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key }),
    );
    return { cli, marker, argv: [process.execPath, '-e', script, marker] };
  };

  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey('deployer'));
    dir = await mkdtemp(join(tmpdir(), 'countersign-exec-'));
    contextFile = join(dir, 'context.json');
    await writeFile(contextFile, JSON.stringify(CONTEXT));
  });
  afterAll(async () => {
    await killRunningClis();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the command once approved, records start and success, and exits with its code', async () => {
    const { cli, marker, argv } = start();
    const id = await waitingOn(cli);
    expect(existsSync(marker)).toBe(false);
    await decide(id, 'approve');
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(0);
    expect(await readFile(marker, 'utf8')).toBe('ran');
    expect(result.stderr).toContain('receipt verified; running');
    expect(await execution(id)).toEqual({
      outcome: 'succeeded',
      exit_code: 0,
      // --exec binds the command, where it runs and the names it is handed into the context.
      payload_digest: payloadDigest('deploy.production', {
        ...CONTEXT,
        exec: { argv, cwd: REPO_ROOT.replace(/\/$/, ''), env: [] },
      }),
    });
  });

  it("records a failed run with the command's exit code, and exits with it", async () => {
    const { cli, marker } = start([], 7);
    const id = await waitingOn(cli);
    await decide(id, 'approve');
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(7);
    expect(existsSync(marker)).toBe(true);
    expect(await execution(id)).toMatchObject({ outcome: 'failed', exit_code: 7 });
  });

  it('does not run a denied request', async () => {
    const { cli, marker } = start();
    const id = await waitingOn(cli);
    await decide(id, 'deny');
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(`request ${id} is denied; not running`);
    expect(existsSync(marker)).toBe(false);
    expect(await execution(id)).toBeUndefined();
  });

  it('does not run when the receipt does not verify against the pinned key set', async () => {
    const otherKeys = join(dir, 'other-jwks.json');
    await writeFile(otherKeys, JSON.stringify(createReceiptSigner(generateReceiptKey()).jwks()));
    const { cli, marker } = start(['--receipt-jwks', otherKeys]);
    const id = await waitingOn(cli);
    await decide(id, 'approve');
    const result = await cli.exited;
    expect(result.code, describeRun(result)).toBe(3);
    expect(result.stderr).toContain(
      'receipt check failed, not running the command: the signature does not verify',
    );
    expect(existsSync(marker)).toBe(false);
    expect(await execution(id)).toBeUndefined();
  });

  it('does not run a second time: the same request replayed is refused at the start', async () => {
    const first = start(['--idempotency-key', 'deploy-2.4.1']);
    const id = await waitingOn(first.cli);
    await decide(id, 'approve');
    expect((await first.cli.exited).code).toBe(0);

    // The very same command line (the command is part of the request body now), its marker removed.
    await rm(first.marker);
    const second = start(['--idempotency-key', 'deploy-2.4.1'], 0, first.marker);
    const result = await second.cli.exited;
    expect(result.code, describeRun(result)).toBe(3);
    expect(result.stderr).toContain('409 ALREADY_EXECUTED');
    expect(existsSync(second.marker)).toBe(false);
    expect(await execution(id)).toMatchObject({ outcome: 'succeeded' });
  });

  it('refuses --exec without a command or without --wait, and a command without --exec', async () => {
    const env = cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key });
    const base = ['request', '--action', 'a.b', '--requester', 'alice@example.com'];
    const noCommand = await startCli([...base, '--wait', '--exec'], env).exited;
    expect(noCommand.code).toBe(3);
    expect(noCommand.stderr).toContain('--exec needs the command after --');
    const noWait = await startCli([...base, '--exec', '--', 'true'], env).exited;
    expect(noWait.code).toBe(3);
    expect(noWait.stderr).toContain('--exec needs --wait');
    const stray = await startCli([...base, '--', 'true'], env).exited;
    expect(stray.code).toBe(3);
    expect(stray.stderr).toContain('unexpected arguments true');
  });
});
