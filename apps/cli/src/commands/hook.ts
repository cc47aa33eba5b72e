// countersign hook claude-code — a Claude Code PreToolUse hook: tool calls that match the rules
// file wait for a human's approval; others pass untouched. It fails closed: bad input, a bad rules
// file, an unreachable server or no verdict in time all answer "deny" with the reason.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommanderError, InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import packageJson from '../../../../package.json' with { type: 'json' };
import { parseDuration } from '../../../server/src/approvals/duration.ts';
import { optionalString } from '../../../server/src/config.ts';
import {
  ApiResponseError,
  ApiUnreachableError,
  createApiClient,
  resolveConnection,
  type Approval,
} from '../api-client.ts';
import { CliError } from '../cli-error.ts';
import { decisionOutput, parsedToolCallOf, parsePreToolUseEvent, titleOf } from '../hooks/claude-code.ts';
import { decideToolCall, loadHookRules } from '../hooks/hook-rules.ts';
import { checkApproved, receiptKeySource } from '../verify-receipt.ts';

const DEFAULT_TIMEOUT_SECONDS = 600;
const MAX_POLL_SECONDS = 55;
const MAX_STDIN_BYTES = 1024 * 1024;
const STDIN_TIMEOUT_MS = 10_000;

interface HookOptions {
  rules: string;
  timeout: number;
  url?: string;
  apiKey?: string;
  receiptKey?: string;
}

const hookEnvSchema = z.object({
  COUNTERSIGN_REQUESTER: optionalString,
  COUNTERSIGN_REQUESTER_NAME: optionalString,
  COUNTERSIGN_AGENT: optionalString,
});

function durationArgument(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds < 1) {
    throw new InvalidArgumentError('expected seconds or a duration like "90s", "10m".');
  }
  return seconds;
}

export function registerHookCommands(program: Command): void {
  const hook = program.command('hook').description('hooks for coding agents that ask Countersign first');
  hook
    .command('claude-code')
    .description(
      'Claude Code PreToolUse hook: reads the event on stdin; calls matching --rules wait for approval ' +
        '(allow or deny on stdout), others pass; any failure denies',
    )
    .requiredOption('--rules <file>', 'YAML rules file, e.g. .countersign-hook.yaml')
    .addOption(
      new Option('--timeout <duration>', 'deny when no verdict comes within this long')
        .default(DEFAULT_TIMEOUT_SECONDS, '10m')
        .argParser(durationArgument),
    )
    .option('--url <url>', 'server URL (default: COUNTERSIGN_URL)')
    .option('--api-key <key>', 'API key (default: COUNTERSIGN_API_KEY)')
    .option(
      '--receipt-key <file>',
      "saved receipt JWKS the approval's receipt must verify against (default: COUNTERSIGN_RECEIPT_JWKS, else the server's)",
    )
    // Claude Code lets a tool call through on most non-zero exits; exit 2 (stderr as the reason)
    // blocks it, so a bad command line blocks too.
    .exitOverride((error) => {
      if (error.exitCode === 0) throw error;
      throw new CommanderError(2, error.code, error.message);
    })
    .action(async (options: HookOptions) => {
      const output = await runClaudeCodeHook(options, process.env);
      if (output !== undefined) process.stdout.write(`${output}\n`);
      process.exitCode = 0;
    });
}

/** The hook's stdout (undefined: no rule matched, say nothing); never throws. */
export async function runClaudeCodeHook(
  options: HookOptions,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  try {
    const event = parsePreToolUseEvent(await readStdin());
    const rules = await loadHookRules(options.rules);
    const call = await parsedToolCallOf(event);
    const decision = decideToolCall(rules, call);
    if (!decision.ask) return undefined;

    const connection = resolveConnection({ url: options.url, apiKey: options.apiKey }, env);
    const identity = hookEnvSchema.parse(env);
    if (!identity.COUNTERSIGN_REQUESTER) {
      throw new CliError('COUNTERSIGN_REQUESTER is not set (the email of the person Claude Code works for)');
    }
    const client = createApiClient({ ...connection, userAgent: `countersign-hook/${packageJson.version}` });
    const deadline = Date.now() + options.timeout * 1000;
    const context = {
      tool_name: event.tool_name,
      tool_input: event.tool_input,
      ...(event.cwd ? { cwd: event.cwd } : {}),
      // What the hook read the command as, and why it asks: the reviewer sees both.
      ...(call.bash
        ? { bash: { commands: call.bash.commands.map((c) => c.words), unresolved: call.bash.unresolved } }
        : {}),
      asked: decision.why,
    };
    const created = await client.createApproval(
      {
        action: decision.action,
        title: titleOf(event),
        requester: {
          email: identity.COUNTERSIGN_REQUESTER,
          ...(identity.COUNTERSIGN_REQUESTER_NAME ? { name: identity.COUNTERSIGN_REQUESTER_NAME } : {}),
        },
        agent: {
          name: identity.COUNTERSIGN_AGENT ?? 'claude-code',
          ...(event.session_id ? { runId: event.session_id.slice(0, 200) } : {}),
        },
        context,
      },
      // A hook run again for the same tool call finds the same request.
      { idempotencyKey: `claude-code-${(event.tool_use_id ?? randomUUID()).slice(0, 200)}` },
    );
    const final = await waitForVerdict(client, created, deadline);
    // "allow" only with the receipt: signed, for this request, action and tool call, approved.
    if (final.status === 'approved') {
      await checkApproved(final, receiptKeySource(options.receiptKey, connection.baseUrl, env), context);
    }
    return describe(final, options.timeout);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return decisionOutput('deny', `Countersign could not get an approval, so this is denied: ${message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(
    () => process.stdin.destroy(new Error('no hook input on stdin in time')),
    STDIN_TIMEOUT_MS,
  );
  try {
    for await (const chunk of process.stdin) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > MAX_STDIN_BYTES) throw new CliError('the hook input on stdin is larger than 1 MiB');
      chunks.push(buffer);
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function waitForVerdict(
  client: ReturnType<typeof createApiClient>,
  created: Approval,
  deadline: number,
): Promise<Approval> {
  let current = created;
  let failures = 0;
  while (current.status === 'pending') {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return current;
    try {
      current = await client.getApproval(current.id, {
        waitSeconds: Math.max(1, Math.min(MAX_POLL_SECONDS, Math.ceil(remaining / 1000))),
      });
      failures = 0;
    } catch (error) {
      const transient =
        error instanceof ApiUnreachableError || (error instanceof ApiResponseError && error.isTransient);
      if (!transient) throw error;
      await sleep(Math.min(5000, 250 * 2 ** ++failures, Math.max(0, deadline - Date.now())));
    }
  }
  return current;
}

function describe(approval: Approval, timeoutSeconds: number): string {
  const wanted = approval.status === 'approved' ? 'approve' : 'deny';
  const deciders = approval.decisions.filter((d) => d.verdict === wanted);
  const who = deciders.map((d) => `${d.approver.email} (${d.approver.platform})`).join(', ');
  const reasons = deciders.filter((d) => d.reason).map((d) => d.reason);
  const because = reasons.length ? `; reason: ${reasons.join('; ')}` : '';
  const ref = `(Countersign request ${approval.id})`;
  switch (approval.status) {
    case 'approved':
      return decisionOutput('allow', `Approved by ${who || 'policy'}${because} ${ref}`);
    case 'denied':
      return decisionOutput('deny', `Denied by ${who}${because} ${ref}`);
    case 'expired':
      return decisionOutput('deny', `The approval request expired without a verdict ${ref}`);
    case 'cancelled':
      return decisionOutput('deny', `The approval request was cancelled ${ref}`);
    case 'pending':
      return decisionOutput('deny', `No verdict within ${timeoutSeconds} s, so this is denied ${ref}`);
  }
}
