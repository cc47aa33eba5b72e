// Configuration: the environment parsed once with zod. Nothing else reads process.env.
import { z } from 'zod';
import { ConfigError } from './config-error.ts';

export { ConfigError };

/** A setting that may be absent; blank counts as absent. */
export const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/** A whole number of milliseconds that may be absent (blank counts as absent). */
const optionalMs = (min: number) =>
  optionalString.pipe(z.coerce.number<string | undefined>().int().min(min).optional());

export const envSchema = z
  .object({
    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    COUNTERSIGN_PUBLIC_URL: optionalString.pipe(z.url().optional()),
    COUNTERSIGN_DATA_DIR: z.string().default('.countersign'),
    COUNTERSIGN_POLICY: optionalString,
    /** A gateway file: serve its downstream MCP servers' tools at /gateway/mcp (docs/agents/gateway.md). */
    COUNTERSIGN_GATEWAY: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SLACK_BOT_TOKEN: optionalString,
    SLACK_SIGNING_SECRET: optionalString,
    /** An app-level token (xapp-…, scope connections:write): Slack Socket Mode instead of a request URL. */
    SLACK_APP_TOKEN: optionalString.pipe(
      z
        .string()
        .startsWith(
          'xapp-',
          'must be an app-level token starting with xapp- (Basic Information → App-Level Tokens)',
        )
        .optional(),
    ),
    SLACK_API_URL: optionalString.pipe(z.url().optional()),
    /** Least time between two new cards in one chat channel (Slack allows about one a second). */
    COUNTERSIGN_CHAT_POST_INTERVAL_MS: z.coerce.number().int().min(0).default(1000),
    /**
     * How long one flush job works a chat channel before handing over to a fresh job. Short jobs
     * let pg-boss notice a crashed worker soon (a job expires after this plus a minute).
     */
    COUNTERSIGN_CHAT_FLUSH_BUDGET_MS: z.coerce.number().int().min(100).default(60_000),
    /** Slack's overrides of the two chat settings above. */
    SLACK_POST_INTERVAL_MS: optionalMs(0),
    SLACK_FLUSH_BUDGET_MS: optionalMs(100),
    /** Teams' overrides of the two chat settings above. */
    TEAMS_POST_INTERVAL_MS: optionalMs(0),
    TEAMS_FLUSH_BUDGET_MS: optionalMs(100),
    /** Slack workspaces (team ids, comma-separated) whose members may decide, besides the installing one. */
    SLACK_ALLOWED_TEAMS: optionalString,
    /** Channels whose cards this process posts and updates at once; 0 leaves it to other replicas. */
    COUNTERSIGN_CHAT_WORKERS: z.coerce.number().int().min(0).max(64).default(4),
    MICROSOFT_APP_ID: optionalString,
    MICROSOFT_APP_PASSWORD: optionalString,
    MICROSOFT_APP_TENANT_ID: optionalString,
    MICROSOFT_APP_TYPE: optionalString.pipe(
      z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).optional(),
    ),
    /** Which Microsoft cloud's Bot Framework endpoints the Teams bot uses; each can be overridden below. */
    MICROSOFT_CLOUD: optionalString.pipe(z.enum(['public', 'usgov', 'usgovdod', 'china']).default('public')),
    BOTFRAMEWORK_LOGIN_URL: optionalString.pipe(z.url().optional()),
    BOTFRAMEWORK_OAUTH_SCOPE: optionalString,
    BOTFRAMEWORK_TOKEN_ISSUER: optionalString,
    BOTFRAMEWORK_OPENID_METADATA_URL: optionalString.pipe(z.url().optional()),
    BOTFRAMEWORK_EMULATOR_OPENID_METADATA_URL: optionalString.pipe(z.url().optional()),
    BOTFRAMEWORK_OAUTH_URL: optionalString.pipe(z.url().optional()),
    BOTFRAMEWORK_CALLER_ID: optionalString,
    BOTFRAMEWORK_VALIDATE_AUTHORITY: optionalString.pipe(
      z
        .enum(['true', 'false'])
        .transform((v) => v === 'true')
        .optional(),
    ),
    COUNTERSIGN_CALLBACK_ALLOW: optionalString,
    /** Time one callback attempt may take. */
    COUNTERSIGN_CALLBACK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    /** Retries after the first attempt; with the default delay, 14 retries span more than 24 hours. */
    COUNTERSIGN_CALLBACK_RETRY_LIMIT: z.coerce.number().int().min(0).max(100).default(14),
    /** First retry delay in seconds; doubled on each retry, with jitter. */
    COUNTERSIGN_CALLBACK_RETRY_DELAY_S: z.coerce.number().int().min(1).default(10),
    /** Callback attempts this process runs at once; 0 leaves delivery to other replicas. */
    COUNTERSIGN_CALLBACK_WORKERS: z.coerce.number().int().min(0).max(64).default(4),
    /** How often idle workers look for new jobs, in seconds. */
    COUNTERSIGN_JOB_POLL_S: z.coerce.number().min(0.5).default(2),
    COUNTERSIGN_RECEIPT_KEY: optionalString,
    /**
     * The Ed25519 key that signs every audit event changing a request's state (same forms as
     * COUNTERSIGN_RECEIPT_KEY), or COUNTERSIGN_EVENT_KEY_FILE naming a file that holds it. Never
     * stored in the database; unset, each start generates one (see docs/compliance/trust-boundary.md).
     */
    COUNTERSIGN_EVENT_KEY: optionalString,
    COUNTERSIGN_EVENT_KEY_FILE: optionalString,
    /** How often overdue pending requests are moved to expired. */
    COUNTERSIGN_EXPIRY_SWEEP_MS: z.coerce.number().int().min(100).default(5000),
    /** How long SIGTERM waits for in-flight requests before closing connections. */
    COUNTERSIGN_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
    /**
     * The hard deadline of a shutdown, from the first signal: whatever still runs then, the process
     * exits 1 saying so. Unset: the grace period plus 15 s (for the queue and the pool).
     */
    COUNTERSIGN_SHUTDOWN_DEADLINE_MS: optionalMs(1),
    /**
     * The role the service's own sessions run as: it does not own the audit tables, so it cannot
     * disable their triggers, delete events or move the chain head. Created by `countersign migrate`
     * and at start-up when missing; `off` keeps every session on the DATABASE_URL user.
     */
    COUNTERSIGN_RUNTIME_ROLE: z
      .string()
      .trim()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier, or off')
      .default('countersign_app'),
    /** A login for the runtime role, used instead of switching DATABASE_URL's sessions to it. */
    COUNTERSIGN_RUNTIME_DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    /** Minutes between signed checkpoints of the audit chain head; 0 turns them off. */
    COUNTERSIGN_CHECKPOINT_INTERVAL_MIN: z.coerce.number().min(0).default(60),
    /** Web console sign-in: the OpenID provider (https, or http on loopback for local tests). */
    COUNTERSIGN_OIDC_ISSUER: optionalString.pipe(z.url().optional()),
    COUNTERSIGN_OIDC_CLIENT_ID: optionalString,
    /** Absent for a public client (PKCE only). */
    COUNTERSIGN_OIDC_CLIENT_SECRET: optionalString,
    /** Type any email on the sign-in page: for trying Countersign locally, loopback only. */
    COUNTERSIGN_DEV_SIGNIN: optionalString.pipe(
      z
        .enum(['true', 'false', '1', '0'])
        .optional()
        .transform((v) => v === 'true' || v === '1'),
    ),
    /** Signs web session cookies; generated and stored in the database when unset. */
    COUNTERSIGN_SESSION_SECRET: optionalString.pipe(z.string().min(32).optional()),
    /** A web session ends after this many seconds without a request. */
    COUNTERSIGN_SESSION_IDLE_S: z.coerce.number().int().min(60).default(1800),
    /** A web session ends this many seconds after sign-in, however active. */
    COUNTERSIGN_SESSION_MAX_S: z.coerce.number().int().min(60).default(43_200),
    /** Sign-in attempts allowed per client address and minute. */
    COUNTERSIGN_SIGNIN_RATE_LIMIT: z.coerce.number().int().min(1).default(20),
    /** How long start-up keeps retrying a database that does not answer before it gives up. */
    COUNTERSIGN_DB_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  })
  .superRefine((env, ctx) => {
    if (env.SLACK_APP_TOKEN) {
      // Socket Mode: events arrive over a socket we open with the app token, nothing is signed.
      if (!env.SLACK_BOT_TOKEN) {
        ctx.addIssue({
          code: 'custom',
          path: ['SLACK_BOT_TOKEN'],
          message: 'SLACK_APP_TOKEN (Socket Mode) needs SLACK_BOT_TOKEN too (xoxb-…, to post cards)',
        });
      }
    } else if (Boolean(env.SLACK_BOT_TOKEN) !== Boolean(env.SLACK_SIGNING_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.SLACK_BOT_TOKEN ? 'SLACK_SIGNING_SECRET' : 'SLACK_BOT_TOKEN'],
        message:
          'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set together (or SLACK_BOT_TOKEN with SLACK_APP_TOKEN for Socket Mode)',
      });
    }
    if (Boolean(env.MICROSOFT_APP_ID) !== Boolean(env.MICROSOFT_APP_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.MICROSOFT_APP_ID ? 'MICROSOFT_APP_PASSWORD' : 'MICROSOFT_APP_ID'],
        message: 'MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD must be set together',
      });
    }
    if (env.MICROSOFT_APP_TYPE === 'SingleTenant' && !env.MICROSOFT_APP_TENANT_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['MICROSOFT_APP_TENANT_ID'],
        message: 'MICROSOFT_APP_TENANT_ID is required when MICROSOFT_APP_TYPE is SingleTenant',
      });
    }
    if (Boolean(env.COUNTERSIGN_OIDC_ISSUER) !== Boolean(env.COUNTERSIGN_OIDC_CLIENT_ID)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.COUNTERSIGN_OIDC_ISSUER ? 'COUNTERSIGN_OIDC_CLIENT_ID' : 'COUNTERSIGN_OIDC_ISSUER'],
        message: 'COUNTERSIGN_OIDC_ISSUER and COUNTERSIGN_OIDC_CLIENT_ID must be set together',
      });
    }
    if (env.COUNTERSIGN_OIDC_ISSUER && !env.COUNTERSIGN_PUBLIC_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['COUNTERSIGN_PUBLIC_URL'],
        message:
          "is required with COUNTERSIGN_OIDC_ISSUER: the sign-in's redirect URI is built from it (e.g. https://countersign.example.com), never from a request's Host",
      });
    }
    if (env.COUNTERSIGN_OIDC_ISSUER) {
      const issuer = new URL(env.COUNTERSIGN_OIDC_ISSUER);
      if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname))) {
        ctx.addIssue({
          code: 'custom',
          path: ['COUNTERSIGN_OIDC_ISSUER'],
          message: 'must be an https:// URL (http:// only on a loopback address)',
        });
      }
    }
  });

/** 127.0.0.0/8, ::1 and localhost: the only hosts the development sign-in may listen on. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

export type Config = z.infer<typeof envSchema>;

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return withDevSignInHost(result.data, env['HOST']);
}

/**
 * The development sign-in lets anyone be anyone, so it only runs on loopback: HOST defaults to
 * 127.0.0.1 with it, and any other HOST stops start-up.
 */
function withDevSignInHost(config: Config, hostSetting: string | undefined): Config {
  if (!config.COUNTERSIGN_DEV_SIGNIN) return config;
  if (!hostSetting?.trim()) return { ...config, HOST: '127.0.0.1' };
  if (!isLoopbackHost(config.HOST)) {
    throw new ConfigError([
      `COUNTERSIGN_DEV_SIGNIN: the development sign-in lets anyone be anyone, so the server must listen on loopback (HOST is ${config.HOST})`,
    ]);
  }
  return config;
}
