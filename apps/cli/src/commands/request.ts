// countersign request — a pipeline asks for approval; with --wait it blocks until the verdict and
// exits 0 approved, 1 denied, 2 expired or cancelled, 3 on any error or when --timeout passes.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommanderError, InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import packageJson from '../../../../package.json' with { type: 'json' };
import { parseDuration } from '../../../server/src/approvals/duration.ts';
import {
  bindExec,
  commandLine,
  ENV_NAME_PATTERN,
  EXEC_CONTEXT_KEY,
  type ExecBinding,
  EXEC_SECRET_PATTERN,
} from '../../../server/src/approvals/exec-binding.ts';
import {
  API_ERROR_EXIT_CODE,
  ApiResponseError,
  ApiUnreachableError,
  createApiClient,
  resolveConnection,
  type ApiClient,
  type Approval,
  type CreateApprovalBody,
} from '../api-client.ts';
import { ciIdentityToken, DEFAULT_ID_TOKEN_VARIABLE } from '../ci-identity-token.ts';
import { CliError } from '../cli-error.ts';
import { checkApproved, NO_VALID_RECEIPT, ReceiptError, receiptKeySource } from '../verify-receipt.ts';

/** Exit codes (spec §7). A local --timeout is not a verdict, so it is an error (3), not 2. */
export const REQUEST_EXIT_CODES = {
  approved: 0,
  denied: 1,
  expired: 2,
  cancelled: 2,
  error: API_ERROR_EXIT_CODE,
} as const;

/** The server holds a long-poll for at most 60 s; ask for less so proxies see traffic. */
const MAX_POLL_SECONDS = 55;
/** Retries of the POST after a connection error; the Idempotency-Key makes them safe. */
const CREATE_RETRIES = 3;
const DEFAULT_TIMEOUT_SECONDS = 3600;

interface RequestOptions {
  action: string;
  requester?: string;
  /** false with --no-identity-token. */
  identityToken: boolean;
  identityTokenVariable?: string;
  identityAudience?: string;
  title?: string;
  reason?: string;
  context?: string;
  channel?: string;
  approvers?: string[];
  quorum?: number;
  expiresIn?: number;
  callbackUrl?: string;
  breakGlass?: string;
  idempotencyKey?: string;
  wait?: boolean;
  timeout: number;
  json?: boolean;
  url?: string;
  apiKey?: string;
  exec?: boolean;
  env?: string[];
  secret?: string[];
  receiptKey?: string;
  receiptJwks?: string;
}

function durationArgument(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds < 1) {
    throw new InvalidArgumentError('expected seconds or a duration like "90s", "30m", "1h", "2d".');
  }
  return seconds;
}

function positiveIntegerArgument(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1.');
  }
  return Number(value);
}

function envNameArgument(value: string, previous: string[] | undefined): string[] {
  const name = value.trim();
  if (!ENV_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError('expected an environment variable name, e.g. AWS_PROFILE.');
  }
  return previous?.includes(name) ? previous : [...(previous ?? []), name];
}

function secretArgument(value: string, previous: string[] | undefined): string[] {
  const pair = value.trim();
  if (!EXEC_SECRET_PATTERN.test(pair)) {
    throw new InvalidArgumentError('expected ENV=secret-name, e.g. PGPASSWORD=db-prod.');
  }
  const variable = pair.slice(0, pair.indexOf('='));
  if (previous?.some((p) => p.startsWith(`${variable}=`))) {
    throw new InvalidArgumentError(`${variable} is given twice.`);
  }
  return [...(previous ?? []), pair];
}

function listArgument(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...items];
}

export function registerRequestCommand(program: Command): void {
  program
    .command('request')
    .description(
      'ask for an approval; with --wait, block until the verdict and exit 0 approved, 1 denied, ' +
        '2 expired or cancelled, 3 on error or when --timeout passes first',
    )
    .requiredOption('--action <action>', 'dotted name of what will be done, e.g. "db.export"')
    .option(
      '--requester <email>',
      'email of the person on whose behalf the action runs (may be left out with a key bound to one, or in CI with an identity token)',
    )
    .option(
      '--no-identity-token',
      "do not send the CI's workload identity token (GitHub Actions' OIDC token, or the --identity-token-variable one)",
    )
    .option(
      '--identity-token-variable <name>',
      `environment variable holding the CI's ID token (GitLab id_tokens:; default ${DEFAULT_ID_TOKEN_VARIABLE})`,
    )
    .option(
      '--identity-audience <aud>',
      "audience to ask GitHub Actions' token for (default: COUNTERSIGN_IDENTITY_AUDIENCE, else the server URL)",
    )
    .option('--title <title>', 'one line for the approval card')
    .option('--reason <reason>', 'why the action is needed')
    .option('--context <json>', 'context as a JSON object, or @file.json to read it from a file')
    .option('--channel <channel>', '"slack:<channel id>" or "teams:<conversation id>"')
    .option('--approvers <emails>', 'comma-separated approver emails (narrows the policy)', listArgument)
    .option('--quorum <n>', 'approvals needed (may only raise the policy quorum)', positiveIntegerArgument)
    .option(
      '--expires-in <duration>',
      'expiry, e.g. "30m" (may only shorten the policy expiry)',
      durationArgument,
    )
    .option('--callback-url <url>', 'where the signed verdict is POSTed')
    .option(
      '--break-glass <reason>',
      "emergency: approved at once where the policy rule allows break-glass, and reviewed afterwards by the rule's reviewers",
    )
    .option('--idempotency-key <key>', 'reuse a request created with the same key and body (default: random)')
    .option('--wait', 'block until the verdict, long-polling the server')
    .addOption(
      new Option('--timeout <duration>', 'with --wait: give up with exit 3 after this long')
        .default(DEFAULT_TIMEOUT_SECONDS, '1h')
        .argParser(durationArgument),
    )
    .option('--json', 'print the approval as JSON (with --wait: the final one)')
    .option('--url <url>', 'server URL (default: COUNTERSIGN_URL)')
    .option('--api-key <key>', 'API key (default: COUNTERSIGN_API_KEY)')
    .option(
      '--exec',
      'with --wait: once approved and the receipt verifies, record the start, run the command after ' +
        '--, record its outcome and exit with its exit code',
    )
    .option(
      '--env <name>',
      'with --exec: hand this environment variable to the command (repeatable); its name is bound ' +
        'into the request, and the command gets no other variables but PATH, HOME, locale and the like',
      envNameArgument,
    )
    .option(
      '--secret <env=name>',
      'with --exec: put the policy secret `name` in this environment variable of the command ' +
        '(repeatable); the server hands the value over only in the answer to the approved start',
      secretArgument,
    )
    .option(
      '--receipt-key <file>',
      "with --wait: verify the receipt against this saved JWKS (default: COUNTERSIGN_RECEIPT_JWKS, else the server's)",
    )
    .addOption(new Option('--receipt-jwks <file>', 'the same as --receipt-key').hideHelp())
    .argument('[command...]', 'with --exec: the command to run (after --)')
    // Argument errors are errors too: exit 3 like every other failure of this command. Help and
    // --version keep their 0; the other commands keep commander's own codes.
    .exitOverride((error) => {
      if (error.exitCode === 0) throw error;
      throw new CommanderError(REQUEST_EXIT_CODES.error, error.code, error.message);
    })
    .action(async (command: string[], options: RequestOptions) => {
      try {
        process.exitCode = await runRequest(options, command);
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(error instanceof Error ? error.message : String(error), REQUEST_EXIT_CODES.error);
      }
    });
}

async function runRequest(options: RequestOptions, command: string[] = []): Promise<number> {
  if (options.exec && command.length === 0) {
    throw new CliError(
      '--exec needs the command after --, e.g. --exec -- ./deploy.sh',
      REQUEST_EXIT_CODES.error,
    );
  }
  if (!options.exec && command.length > 0) {
    throw new CliError(
      `unexpected arguments ${command.join(' ')}: to run a command once approved, use --wait --exec -- COMMAND`,
      REQUEST_EXIT_CODES.error,
    );
  }
  if (options.exec && !options.wait) {
    throw new CliError(
      '--exec needs --wait: the command runs only after the verdict',
      REQUEST_EXIT_CODES.error,
    );
  }
  if (!options.exec && options.env !== undefined) {
    throw new CliError('--env needs --exec: it names what the command is handed', REQUEST_EXIT_CODES.error);
  }
  if (!options.exec && options.secret !== undefined) {
    throw new CliError(
      '--secret needs --exec: it names what the command is handed',
      REQUEST_EXIT_CODES.error,
    );
  }
  const deadline = Date.now() + options.timeout * 1000;
  const connection = resolveConnection({ url: options.url, apiKey: options.apiKey });
  const userContext = options.context !== undefined ? await readContext(options.context) : undefined;
  // The command, where it runs and the names of what it is handed go into the context, and so
  // into the digest the reviewers approve: what runs is what they saw.
  const run = options.exec ? plannedRun(command, options.env ?? [], options.secret ?? []) : undefined;
  const body = buildBody(options, run ? bindRun(userContext ?? {}, run) : userContext);
  const client = createApiClient({ ...connection, userAgent: `countersign-cli/${packageJson.version}` });
  const idempotencyKey = options.idempotencyKey ?? `countersign-cli-${randomUUID()}`;
  const identity = options.identityToken
    ? await ciIdentityToken({
        variable: options.identityTokenVariable ?? DEFAULT_ID_TOKEN_VARIABLE,
        audience:
          options.identityAudience ??
          (process.env['COUNTERSIGN_IDENTITY_AUDIENCE']?.trim() || connection.baseUrl),
      })
    : undefined;
  if (identity)
    process.stderr.write(`countersign: proving the requester with the ${identity.source} identity token\n`);

  const created = await createWithRetries(client, body, idempotencyKey, deadline, identity?.token);
  if (!options.wait) {
    console.log(options.json ? JSON.stringify(created, null, 2) : created.id);
    return 0;
  }

  if (created.status === 'pending') {
    process.stderr.write(
      `countersign: request ${created.id} (${created.action}) is pending; ` +
        `waiting for its verdict, at most ${formatSeconds(options.timeout)}\n`,
    );
  }
  if (run) process.stderr.write(`countersign: bound command: ${commandLine(bindingOf(run))}\n`);
  const { approval: outcome, unreachable } = await waitForVerdict(client, created, deadline);
  if (outcome.status === 'pending') {
    if (options.json) console.log(JSON.stringify(outcome, null, 2));
    const why = unreachable ? `; at the end ${unreachable.message}` : '';
    throw new CliError(
      `no verdict within ${formatSeconds(options.timeout)} (--timeout)${why}: request ${outcome.id} was ` +
        `last seen pending and stays open until it expires at ${outcome.expiresAt}`,
      REQUEST_EXIT_CODES.error,
    );
  }
  if (outcome.status !== 'approved') {
    console.log(options.json ? JSON.stringify(outcome, null, 2) : describeVerdict(outcome));
    if (options.exec) {
      process.stderr.write(
        `countersign: request ${outcome.id} is ${outcome.status}; not running ${command.join(' ')}\n`,
      );
    }
    return REQUEST_EXIT_CODES[outcome.status];
  }
  const keys = receiptKeySource(options.receiptKey ?? options.receiptJwks, connection.baseUrl);
  // An approved status counts only with its receipt: signed by the receipt key, for this request,
  // action and payload, saying approved. The payload is recomputed from what this process sent,
  // and for --exec from the very argv, directory and names it is about to run with.
  let digest: string;
  try {
    digest = await checkApproved(outcome, keys, run ? bindRun(userContext ?? {}, run) : (userContext ?? {}));
  } catch (error) {
    if (options.json) console.log(JSON.stringify(outcome, null, 2));
    if (error instanceof ReceiptError && options.exec) {
      throw new CliError(
        `receipt check failed, not running the command: ${error.detail} (${NO_VALID_RECEIPT})`,
        REQUEST_EXIT_CODES.error,
      );
    }
    throw error;
  }
  console.log(options.json ? JSON.stringify(outcome, null, 2) : describeVerdict(outcome));
  if (!run) return REQUEST_EXIT_CODES.approved;
  return executeApproved(client, outcome, digest, run);
}

/**
 * Runs the command only after the receipt proves this exact {action, context} was approved, and
 * only if the server accepts the start (an approval is used once); records how it ended.
 */
async function executeApproved(
  client: ApiClient,
  approval: Approval,
  digest: string,
  run: PlannedRun,
): Promise<number> {
  const line = commandLine(bindingOf(run));
  const started = await client.recordExecution(approval.id, {
    payloadDigest: digest,
    outcome: 'started',
    detail: `countersign request --exec: ${line}`.slice(0, 2000),
    ...(run.secrets.length > 0 ? { secrets: run.secrets } : {}),
  });
  // The values live in the child's environment alone: never printed, never in this process's env.
  const secretEnv = started.secretEnv ?? {};
  const missing = run.secrets.filter((s) => secretEnv[s.env] === undefined);
  if (missing.length > 0) {
    throw new CliError(
      `the server started request ${approval.id} but did not hand over ${missing.map((s) => s.secret).join(', ')}; not running the command`,
      REQUEST_EXIT_CODES.error,
    );
  }
  process.stderr.write(`countersign: receipt verified; running ${line}\n`);
  const ran = await runCommand({ ...run, env: { ...run.env, ...secretEnv } });
  try {
    await recordOutcome(client, approval.id, {
      payloadDigest: digest,
      outcome: ran.exitCode === 0 ? 'succeeded' : 'failed',
      exitCode: ran.exitCode,
      detail: ran.detail,
    });
  } catch (error) {
    // The command ran; its exit code is the answer. The missing outcome shows in the audit report.
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(
      `countersign: warning: could not record the outcome of request ${approval.id}: ${reason}\n`,
    );
  }
  return ran.exitCode;
}

/** Variables every command gets besides those named with --env: where programs are, who and where. */
const BASELINE_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TERM',
  'TMPDIR',
  'TZ',
];

/** Exactly what --exec will start: the argv, the directory and the variables handed over by name. */
interface PlannedRun {
  argv: [string, ...string[]];
  cwd: string;
  envNames: string[];
  env: NodeJS.ProcessEnv;
  /** `--secret ENV=name`: policy secrets the server hands over at the start. */
  secrets: { env: string; secret: string }[];
}

function plannedRun(command: string[], envNames: string[], secretPairs: string[]): PlannedRun {
  const [program, ...args] = command;
  if (program === undefined) {
    throw new CliError('--exec needs the command after --', REQUEST_EXIT_CODES.error);
  }
  const missing = envNames.filter((name) => process.env[name] === undefined);
  if (missing.length > 0) {
    throw new CliError(
      `--env ${missing.join(', ')}: not set in this environment, so it cannot be handed to the command`,
      REQUEST_EXIT_CODES.error,
    );
  }
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...BASELINE_ENV, ...envNames]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const secrets = secretPairs.map((pair) => {
    const at = pair.indexOf('=');
    return { env: pair.slice(0, at), secret: pair.slice(at + 1) };
  });
  const clash = secrets.find((s) => envNames.includes(s.env) || BASELINE_ENV.includes(s.env));
  if (clash) {
    throw new CliError(
      `--secret ${clash.env}=${clash.secret}: ${clash.env} is already handed to the command from this environment`,
      REQUEST_EXIT_CODES.error,
    );
  }
  return { argv: [program, ...args], cwd: process.cwd(), envNames, env, secrets };
}

function bindingOf(run: PlannedRun): ExecBinding {
  return {
    argv: run.argv,
    cwd: run.cwd,
    env: run.envNames,
    ...(run.secrets.length > 0 ? { secrets: run.secrets.map((s) => `${s.env}=${s.secret}`) } : {}),
  };
}

/** The context sent, and recomputed before running: the caller's plus the bound command. */
function bindRun(context: Record<string, unknown>, run: PlannedRun): Record<string, unknown> {
  if (Object.hasOwn(context, EXEC_CONTEXT_KEY)) {
    throw new CliError(
      `--context must not have an "${EXEC_CONTEXT_KEY}" field with --exec: that is where the command is bound`,
      REQUEST_EXIT_CODES.error,
    );
  }
  return bindExec(context, bindingOf(run));
}

interface CommandResult {
  exitCode: number;
  detail: string;
}

/** Runs the command without a shell, stdio passed through; SIGINT and SIGTERM are passed on. */
function runCommand(run: PlannedRun): Promise<CommandResult> {
  const [program, ...args] = run.argv;
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: 'inherit', cwd: run.cwd, env: run.env });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt).on('SIGTERM', onTerm);
    const done = (result: CommandResult) => {
      process.off('SIGINT', onInt).off('SIGTERM', onTerm);
      resolve(result);
    };
    child.on('error', (error) => {
      const code = 'code' in error ? String(error.code) : error.message;
      done({ exitCode: 127, detail: `could not start ${program}: ${code}` });
    });
    child.on('exit', (code, signal) => {
      if (signal) done({ exitCode: 128 + (osConstants.signals[signal] ?? 0), detail: `killed by ${signal}` });
      else done({ exitCode: code ?? 1, detail: `exit code ${code ?? 1}` });
    });
  });
}

async function recordOutcome(
  client: ApiClient,
  id: string,
  body: Parameters<ApiClient['recordExecution']>[1],
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.recordExecution(id, body);
      return;
    } catch (error) {
      const transient =
        error instanceof ApiUnreachableError || (error instanceof ApiResponseError && error.isTransient);
      if (!transient || attempt >= CREATE_RETRIES) throw error;
      await sleep(backoffMs(attempt));
    }
  }
}

const contextSchema = z.record(z.string(), z.unknown());

/** `--context '{...}'` or `--context @file.json`: a JSON object, or exit 3 saying what is wrong. */
async function readContext(value: string): Promise<Record<string, unknown>> {
  const path = value.startsWith('@') ? value.slice(1) : undefined;
  const source = path === undefined ? '--context' : `--context file ${path}`;
  let text = value;
  if (path !== undefined) {
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
      throw new CliError(`cannot read ${source}: ${reason}`, REQUEST_EXIT_CODES.error);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`${source} is not valid JSON: ${reason}`, REQUEST_EXIT_CODES.error);
  }
  const parsed = contextSchema.safeParse(json);
  if (!parsed.success || Array.isArray(json)) {
    throw new CliError(`${source} must be a JSON object`, REQUEST_EXIT_CODES.error);
  }
  return parsed.data;
}

function buildBody(
  options: RequestOptions,
  context: Record<string, unknown> | undefined,
): CreateApprovalBody {
  return {
    action: options.action,
    ...(options.requester !== undefined ? { requester: { email: options.requester } } : {}),
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    ...(context !== undefined ? { context } : {}),
    ...(options.channel !== undefined ? { channel: options.channel } : {}),
    ...(options.approvers !== undefined ? { approvers: options.approvers } : {}),
    ...(options.quorum !== undefined ? { quorum: options.quorum } : {}),
    ...(options.expiresIn !== undefined ? { expiresIn: options.expiresIn } : {}),
    ...(options.callbackUrl !== undefined ? { callbackUrl: options.callbackUrl } : {}),
    ...(options.breakGlass !== undefined ? { breakGlass: options.breakGlass } : {}),
  };
}

/** Exponential backoff with jitter: about 0.5 s, 1 s, 2 s, … capped at 10 s. */
function backoffMs(attempt: number): number {
  const base = Math.min(10_000, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/** Sleeps for the backoff, but never past the deadline; false when the deadline leaves no time. */
async function backOff(attempt: number, deadline: number): Promise<boolean> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return false;
  await sleep(Math.min(backoffMs(attempt), remaining));
  return true;
}

async function createWithRetries(
  client: ApiClient,
  body: CreateApprovalBody,
  idempotencyKey: string,
  deadline: number,
  identityToken: string | undefined,
): Promise<Approval> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.createApproval(body, { idempotencyKey, identityToken });
    } catch (error) {
      if (!(error instanceof ApiUnreachableError)) throw error;
      if (attempt >= CREATE_RETRIES || !(await backOff(attempt, deadline))) {
        throw new CliError(`${error.message} (gave up after ${attempt + 1} attempts)`, error.exitCode);
      }
    }
  }
}

interface WaitOutcome {
  /** The last state seen: pending only when the deadline passed first. */
  approval: Approval;
  /** Set when the last poll failed: the server was unreachable or unavailable as time ran out. */
  unreachable?: ApiUnreachableError | ApiResponseError | undefined;
}

/** Long-polls until the request leaves pending or the deadline passes. */
async function waitForVerdict(client: ApiClient, created: Approval, deadline: number): Promise<WaitOutcome> {
  const status = createStatusLine(process.stderr, deadline);
  let current = created;
  let failures = 0;
  let unreachable: WaitOutcome['unreachable'];
  try {
    status.show(current);
    while (current.status === 'pending') {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      const waitSeconds = Math.max(1, Math.min(MAX_POLL_SECONDS, Math.ceil(remainingMs / 1000)));
      try {
        current = await client.getApproval(current.id, { waitSeconds });
        failures = 0;
        unreachable = undefined;
        status.show(current);
      } catch (error) {
        const transient =
          error instanceof ApiUnreachableError || (error instanceof ApiResponseError && error.isTransient);
        if (!transient) throw error;
        unreachable = error;
        const reason = error instanceof ApiUnreachableError ? error.reason : `HTTP ${error.status}`;
        if (failures === 0 && !status.isLive) {
          process.stderr.write(`countersign: ${error.message.split('\n')[0]}; retrying until the timeout\n`);
        }
        status.show(current, `server unreachable (${reason}), retrying`);
        if (!(await backOff(failures++, deadline))) break;
      }
    }
    return { approval: current, unreachable };
  } finally {
    status.clear();
  }
}

interface StatusLine {
  /** True on a TTY, where the line is drawn. */
  isLive: boolean;
  show(approval: Approval, note?: string): void;
  clear(): void;
}

/** One line on stderr, redrawn every second on a TTY (time left ticks); nothing otherwise. */
function createStatusLine(stream: NodeJS.WriteStream, deadline: number): StatusLine {
  if (!stream.isTTY) return { isLive: false, show() {}, clear() {} };
  let render = () => '';
  const draw = () => {
    const width = Math.max(20, (stream.columns || 80) - 1);
    stream.write(`\r\x1b[2K${render().slice(0, width)}`);
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  return {
    isLive: true,
    show(approval, note) {
      render = () => {
        const now = Date.now();
        const expiresIn = Date.parse(approval.expiresAt) - now;
        const timeoutIn = deadline - now;
        const left =
          timeoutIn < expiresIn
            ? `${formatMs(timeoutIn)} until --timeout`
            : `expires in ${formatMs(expiresIn)}`;
        const parts = [approval.status, `${approvalsOf(approval)}/${approval.quorum} approvals`, left];
        if (note) parts.push(note);
        return parts.join(' · ');
      };
      draw();
    },
    clear() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}

function approvalsOf(approval: Approval): number {
  return new Set(approval.decisions.filter((d) => d.verdict === 'approve').map((d) => d.approver.email)).size;
}

/** "approved by bob@example.com (slack) at …; reason: …" and the like, for stdout. */
function describeVerdict(approval: Approval): string {
  const plain = describePlainVerdict(approval);
  return approval.breakGlass ? `BREAK-GLASS: ${plain} (review: ${approval.breakGlass.review})` : plain;
}

function describePlainVerdict(approval: Approval): string {
  switch (approval.status) {
    case 'approved':
    case 'denied': {
      const wanted = approval.status === 'approved' ? 'approve' : 'deny';
      const deciders = approval.decisions.filter((d) => d.verdict === wanted);
      const who = deciders.map((d) => `${d.approver.email} (${d.approver.platform}) at ${d.at}`).join(', ');
      const reasons = deciders.filter((d) => d.reason);
      const because =
        reasons.length === 0
          ? ''
          : reasons.length === 1
            ? `; reason: ${reasons[0]?.reason}`
            : `; reasons: ${reasons.map((d) => `${d.approver.email}: ${d.reason}`).join('; ')}`;
      const by = who ? ` by ${who}` : ` at ${approval.decidedAt ?? 'an unknown time'}`;
      return `${approval.status}${by}${because}`;
    }
    case 'expired':
      return (
        `expired at ${approval.decidedAt ?? approval.expiresAt} with ` +
        `${approvalsOf(approval)}/${approval.quorum} approvals (request ${approval.id})`
      );
    case 'cancelled':
      return `cancelled at ${approval.decidedAt ?? 'an unknown time'} (request ${approval.id})`;
    case 'pending':
      return `pending (request ${approval.id})`;
  }
}

function formatMs(ms: number): string {
  return formatSeconds(Math.max(0, Math.round(ms / 1000)));
}

function formatSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${h}h`;
  if (m > 0) return s > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${m}m`;
  return `${s}s`;
}
