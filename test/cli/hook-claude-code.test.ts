// `countersign hook claude-code` as Claude Code runs it: a recorded PreToolUse event on stdin, the
// hook's decision JSON on stdout. Approved → allow, denied → deny with the reason, no matching rule
// → silence (Claude Code's own permissions apply), and every failure → deny (fail closed).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { Approval } from '../support/api-fixtures.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import {
  cliEnv,
  describeRun,
  freePort,
  killRunningClis,
  runCli,
  startCli,
  type CliResult,
} from '../support/cli.ts';
import { hashIdempotencyKey } from '../../apps/server/src/approvals/create-request.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, testDeps } from '../support/use-case-fixtures.ts';

const RULES = `rules:
  - tool: Bash
    command: "psql *"
    action: db.query
  - tool: "Edit|Write"
    path: "infra/prod/**"
    action: infra.edit
  - tool: "mcp__prod__*"
    action: prod.mcp
`;

/** A PreToolUse event as Claude Code sends it (recorded, with the ids changed per test). */
function preToolUse(toolName: string, toolInput: Record<string, unknown>, toolUseId: string) {
  return JSON.stringify({
    session_id: '9f0c3c1e-6a53-4a4e-9d0c-2f6c1b7a8e21',
    transcript_path:
      '/home/alice/.claude/projects/-home-alice-shop/9f0c3c1e-6a53-4a4e-9d0c-2f6c1b7a8e21.jsonl',
    cwd: '/home/alice/shop',
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: toolName,
    tool_input: toolInput,
    tool_use_id: toolUseId,
  });
}

interface HookDecision {
  hookSpecificOutput: {
    hookEventName: string;
    permissionDecision: 'allow' | 'deny';
    permissionDecisionReason: string;
  };
}

function decisionOf(result: CliResult): HookDecision['hookSpecificOutput'] {
  expect(result.code, describeRun(result)).toBe(0);
  const output = JSON.parse(result.stdout) as HookDecision;
  expect(output.hookSpecificOutput.hookEventName).toBe('PreToolUse');
  return output.hookSpecificOutput;
}

describe('countersign hook claude-code', { timeout: 120_000 }, () => {
  let t: TestServer;
  let key: string;
  let dir: string;
  let rulesFile: string;
  let useId = 0;
  const env = (vars: Record<string, string | undefined> = {}) =>
    cliEnv({
      COUNTERSIGN_URL: t.url,
      COUNTERSIGN_API_KEY: key,
      COUNTERSIGN_REQUESTER: 'alice@example.com',
      ...vars,
    });
  const hook = (input: string, args: string[] = [], vars: Record<string, string | undefined> = {}) =>
    startCli(['hook', 'claude-code', '--rules', rulesFile, ...args], env(vars), { input });
  const requestCount = () =>
    withPgClient(t.database.url, async (c) => {
      const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM approval_requests');
      return rows[0]?.n ?? -1;
    });
  const requestFor = (toolUseId: string) =>
    pollUntil(
      () =>
        withPgClient(t.database.url, async (c) => {
          const { rows } = await c.query<{ id: string }>(
            'SELECT id::text AS id FROM approval_requests WHERE idempotency_key = $1',
            // Stored as its SHA-256, never as sent.
            [hashIdempotencyKey(`claude-code-${toolUseId}`)],
          );
          return rows[0]?.id;
        }),
      (id): id is string => typeof id === 'string',
      { what: `the hook to create the request of ${toolUseId}` },
    ) as Promise<string>;
  const decide = (requestId: string, verdict: 'approve' | 'deny', reason?: string) =>
    recordDecision(testDeps(t.server.db, { clock: systemClock }), {
      requestId,
      verdict,
      reason,
      approver: approver('bob@example.com'),
    });

  beforeAll(async () => {
    t = await startTestServer();
    ({ key } = await t.createKey('claude-code'));
    dir = await mkdtemp(join(tmpdir(), 'countersign-hook-'));
    rulesFile = join(dir, '.countersign-hook.yaml');
    await writeFile(rulesFile, RULES);
  });
  afterAll(async () => {
    await killRunningClis();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('allows a matching Bash command once it is approved', async () => {
    const id = `toolu_${++useId}`;
    const run = hook(
      preToolUse('Bash', { command: "psql -c 'DELETE FROM carts'", description: 'Clear carts' }, id),
    );
    const requestId = await requestFor(id);
    await decide(requestId, 'approve', 'go ahead');
    const decision = decisionOf(await run.exited);
    expect(decision.permissionDecision).toBe('allow');
    expect(decision.permissionDecisionReason).toBe(
      `Approved by bob@example.com (slack); reason: go ahead (Countersign request ${requestId})`,
    );

    const stored = await t.call<Approval>('GET', `/v1/approvals/${requestId}`, { key });
    expect(stored.body).toMatchObject({
      action: 'db.query',
      title: "Claude Code: Bash psql -c 'DELETE FROM carts'",
      requester: { email: 'alice@example.com' },
      agent: { name: 'claude-code', runId: '9f0c3c1e-6a53-4a4e-9d0c-2f6c1b7a8e21' },
      context: {
        tool_name: 'Bash',
        tool_input: { command: "psql -c 'DELETE FROM carts'", description: 'Clear carts' },
        cwd: '/home/alice/shop',
      },
    });
  });

  it('denies a matching command that is denied, with the reason and who decided', async () => {
    const id = `toolu_${++useId}`;
    const run = hook(preToolUse('Bash', { command: 'psql -c "DROP TABLE users"' }, id));
    const requestId = await requestFor(id);
    await decide(requestId, 'deny', 'never on prod');
    const decision = decisionOf(await run.exited);
    expect(decision.permissionDecision).toBe('deny');
    expect(decision.permissionDecisionReason).toBe(
      `Denied by bob@example.com (slack); reason: never on prod (Countersign request ${requestId})`,
    );
  });

  it('matches file tools by path, and denies when no verdict comes in time', async () => {
    const id = `toolu_${++useId}`;
    const result = await hook(
      preToolUse('Write', { file_path: '/home/alice/shop/infra/prod/db.tf', content: 'x' }, id),
      ['--timeout', '2s'],
    ).exited;
    const decision = decisionOf(result);
    expect(decision.permissionDecision).toBe('deny');
    expect(decision.permissionDecisionReason).toMatch(
      /^No verdict within 2 s, so this is denied \(Countersign request /,
    );
    const stored = await t.call<Approval>('GET', `/v1/approvals/${await requestFor(id)}`, { key });
    expect(stored.body.action).toBe('infra.edit');
  });

  it.each([
    [
      'a variable as the command',
      'PGD=psql; $PGD -c "DROP TABLE users"',
      /the command name is not static: \$PGD/,
    ],
    ['quotes inside the name', 'ps""ql -c "DROP TABLE users"', /^rule db\.query$/],
  ])('asks for a disguised command (%s) under the rule it may match', async (_name, command, why) => {
    const id = `toolu_${++useId}`;
    const run = hook(preToolUse('Bash', { command }, id));
    const requestId = await requestFor(id);
    await decide(requestId, 'deny', 'not like this');
    expect(decisionOf(await run.exited).permissionDecision).toBe('deny');
    const stored = await t.call<Approval>('GET', `/v1/approvals/${requestId}`, { key });
    expect(stored.body.action).toBe('db.query');
    expect(stored.body.context).toMatchObject({
      tool_input: { command },
      asked: expect.stringMatching(why) as string,
    });
  });

  it('with default: ask, a command no allow: glob names asks under defaultAction', async () => {
    const gated = join(dir, 'gated.yaml');
    await writeFile(gated, `default: ask\ndefaultAction: shell.run\nallow: ["ls *"]\n${RULES}`);
    const before = await requestCount();
    const allowed = await runCli(['hook', 'claude-code', '--rules', gated], env(), {
      input: preToolUse('Bash', { command: 'ls -la' }, `toolu_${++useId}`),
    });
    expect(allowed.code, describeRun(allowed)).toBe(0);
    expect(allowed.stdout).toBe('');
    expect(await requestCount()).toBe(before);

    const id = `toolu_${++useId}`;
    const run = startCli(['hook', 'claude-code', '--rules', gated], env(), {
      input: preToolUse('Bash', { command: 'npm publish' }, id),
    });
    const requestId = await requestFor(id);
    await decide(requestId, 'approve');
    expect(decisionOf(await run.exited).permissionDecision).toBe('allow');
    const stored = await t.call<Approval>('GET', `/v1/approvals/${requestId}`, { key });
    expect(stored.body.action).toBe('shell.run');
    expect(stored.body.context).toMatchObject({ bash: { commands: [['npm', 'publish']], unresolved: [] } });
  });

  it.each([
    [
      'a tool no rule names',
      preToolUse('Read', { file_path: '/home/alice/shop/infra/prod/db.tf' }, 'toolu_r'),
    ],
    ['a Bash command no rule matches', preToolUse('Bash', { command: 'ls -la' }, 'toolu_ls')],
    [
      'a file outside the rule path',
      preToolUse('Edit', { file_path: '/home/alice/shop/src/a.ts' }, 'toolu_e'),
    ],
  ])('passes %s without a request and without output', async (_name, input) => {
    const before = await requestCount();
    const result = await hook(input).exited;
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toBe('');
    expect(await requestCount()).toBe(before);
  });

  it('denies when the server cannot be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const decision = decisionOf(
      await hook(preToolUse('Bash', { command: 'psql -l' }, `toolu_${++useId}`), [], { COUNTERSIGN_URL: url })
        .exited,
    );
    expect(decision.permissionDecision).toBe('deny');
    expect(decision.permissionDecisionReason).toContain(`cannot reach ${url}`);
  });

  it.each([
    ['stdin that is not JSON', '{"tool_name": "Bash", ', /not JSON/],
    [
      'an event without tool_name',
      JSON.stringify({ hook_event_name: 'PreToolUse', tool_input: {} }),
      /tool_name/,
    ],
    [
      'another hook event',
      JSON.stringify({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: {} }),
      /hook_event_name/,
    ],
    ['empty stdin', '', /not JSON/],
  ])('denies on %s', async (_name, input, reason) => {
    const before = await requestCount();
    const decision = decisionOf(await hook(input).exited);
    expect(decision.permissionDecision).toBe('deny');
    expect(decision.permissionDecisionReason).toMatch(reason);
    expect(await requestCount()).toBe(before);
  });

  it('denies when the rules file is broken or the requester is not configured', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'rules:\n  - tool: Bash\n');
    const input = preToolUse('Bash', { command: 'ls' }, `toolu_${++useId}`);
    const bad = decisionOf(await runCli(['hook', 'claude-code', '--rules', broken], env(), { input }));
    expect(bad.permissionDecision).toBe('deny');
    expect(bad.permissionDecisionReason).toMatch(/rules\.0\.action/);

    const noRequester = decisionOf(
      await hook(preToolUse('Bash', { command: 'psql -l' }, `toolu_${++useId}`), [], {
        COUNTERSIGN_REQUESTER: undefined,
      }).exited,
    );
    expect(noRequester.permissionDecision).toBe('deny');
    expect(noRequester.permissionDecisionReason).toContain('COUNTERSIGN_REQUESTER');
  });

  it('blocks (exit 2) when its own command line is wrong', async () => {
    const result = await runCli(['hook', 'claude-code'], env(), {
      input: preToolUse('Bash', { command: 'ls' }, 'x'),
    });
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr).toContain('--rules');
  });
});
