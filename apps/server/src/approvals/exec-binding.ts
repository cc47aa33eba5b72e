// The command a request runs once approved (`countersign request --exec`, the GitHub Action's
// `run:`), bound into its context under `exec` and so into its payload digest: the argv exactly,
// the working directory and the names (never the values) of the environment variables handed to
// it, and the policy secrets it asks for ("PGPASSWORD=db-prod", names only). Cards, the console
// and the CLI show it through commandLine(), one line everywhere.
import { z } from 'zod';

/** The context key the binding lives under. */
export const EXEC_CONTEXT_KEY = 'exec';

/** A portable environment variable name. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `ENV=secret-name`: a policy secret handed to the command in that environment variable. */
export const EXEC_SECRET_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*=[\w.-]+$/;

export const execBindingSchema = z.strictObject({
  argv: z.array(z.string()).min(1),
  cwd: z.string().min(1),
  env: z.array(z.string().regex(ENV_NAME_PATTERN)),
  /** `--secret ENV=name`: absent when none, so bindings without secrets digest as before. */
  secrets: z.array(z.string().regex(EXEC_SECRET_PATTERN)).min(1).optional(),
});

export type ExecBinding = z.infer<typeof execBindingSchema>;

/** The context with the binding added; the caller's own context must not claim the key. */
export function bindExec(context: Record<string, unknown>, binding: ExecBinding): Record<string, unknown> {
  return { ...context, [EXEC_CONTEXT_KEY]: execBindingSchema.parse(binding) };
}

/** The binding in a (possibly masked) context, when it has one of the right shape. */
export function execBindingOf(context: unknown): ExecBinding | undefined {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return undefined;
  const parsed = execBindingSchema.safeParse((context as Record<string, unknown>)[EXEC_CONTEXT_KEY]);
  return parsed.success ? parsed.data : undefined;
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argv word as a POSIX shell would need it written: bare when safe, else single-quoted. */
export function shellWord(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The bound command as one line, e.g. `in /srv/app: terraform plan -out 'my plan' (env: AWS_PROFILE)`.
 * Control characters are shown escaped, so a newline in an argument cannot hide a second line.
 */
export function commandLine(binding: ExecBinding): string {
  const visible = (text: string) =>
    // eslint-disable-next-line no-control-regex
    text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const words = binding.argv.map((word) => visible(shellWord(word))).join(' ');
  const env = binding.env.length > 0 ? ` (env: ${binding.env.join(', ')})` : '';
  const secrets = binding.secrets ? ` (secrets: ${binding.secrets.join(', ')})` : '';
  return `in ${visible(binding.cwd)}: ${words}${env}${secrets}`;
}

/** The command line of a context's binding, or null when it binds no command. */
export function commandLineOf(context: unknown): string | null {
  const binding = execBindingOf(context);
  return binding ? commandLine(binding) : null;
}
