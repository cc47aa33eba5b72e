// Configuration: the environment parsed once with zod. Nothing else reads process.env.
import { z } from 'zod';

/** A setting that may be absent; blank counts as absent. */
export const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const envSchema = z
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
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SLACK_BOT_TOKEN: optionalString,
    SLACK_SIGNING_SECRET: optionalString,
    SLACK_API_URL: optionalString.pipe(z.url().optional()),
    /** Least time between two new messages in one Slack channel (Slack allows about one a second). */
    SLACK_POST_INTERVAL_MS: z.coerce.number().int().min(0).default(1000),
    /**
     * How long one flush job works a Slack channel before handing over to a fresh job. Short jobs
     * let pg-boss notice a crashed worker soon (a job expires after this plus a minute).
     */
    SLACK_FLUSH_BUDGET_MS: z.coerce.number().int().min(100).default(60_000),
    /** Channels whose cards this process posts and updates at once; 0 leaves it to other replicas. */
    COUNTERSIGN_CHAT_WORKERS: z.coerce.number().int().min(0).max(64).default(4),
    MICROSOFT_APP_ID: optionalString,
    MICROSOFT_APP_PASSWORD: optionalString,
    MICROSOFT_APP_TENANT_ID: optionalString,
    MICROSOFT_APP_TYPE: optionalString.pipe(
      z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).optional(),
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
    /** How often overdue pending requests are moved to expired. */
    COUNTERSIGN_EXPIRY_SWEEP_MS: z.coerce.number().int().min(100).default(5000),
    /** How long SIGTERM waits for in-flight requests before closing connections. */
    COUNTERSIGN_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
    /** How long start-up keeps retrying a database that does not answer before it gives up. */
    COUNTERSIGN_DB_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.SLACK_BOT_TOKEN) !== Boolean(env.SLACK_SIGNING_SECRET)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.SLACK_BOT_TOKEN ? 'SLACK_SIGNING_SECRET' : 'SLACK_BOT_TOKEN'],
        message: 'SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set together',
      });
    }
    if (Boolean(env.MICROSOFT_APP_ID) !== Boolean(env.MICROSOFT_APP_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.MICROSOFT_APP_ID ? 'MICROSOFT_APP_PASSWORD' : 'MICROSOFT_APP_ID'],
        message: 'MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD must be set together',
      });
    }
  });

export type Config = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return result.data;
}
