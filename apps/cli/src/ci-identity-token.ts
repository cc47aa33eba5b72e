// The workload identity token the CI offers, fetched by the CLI itself: a GitLab job's `id_tokens:`
// variable (COUNTERSIGN_ID_TOKEN unless told otherwise), or GitHub Actions' token endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN, with `&audience=`; the job needs
// `permissions: id-token: write`). When the CI offers one and it cannot be had, that is an error:
// falling back to a claimed requester would hide it.
import { z } from 'zod';
import { API_ERROR_EXIT_CODE } from './api-client.ts';
import { CliError } from './cli-error.ts';

export const DEFAULT_ID_TOKEN_VARIABLE = 'COUNTERSIGN_ID_TOKEN';
const FETCH_TIMEOUT_MS = 30_000;

const githubTokenResponse = z.object({ value: z.string().min(1) });

export interface IdentityTokenOptions {
  /** The variable a GitLab job's `id_tokens:` names. */
  variable: string;
  /** The audience to ask GitHub for (the one the policy's identity.issuers entry expects). */
  audience: string;
}

/** The token, where it came from, or undefined when the CI offers none. */
export async function ciIdentityToken(
  options: IdentityTokenOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ token: string; source: string } | undefined> {
  const fromVariable = env[options.variable]?.trim();
  if (fromVariable) return { token: fromVariable, source: `$${options.variable}` };
  const requestUrl = env['ACTIONS_ID_TOKEN_REQUEST_URL']?.trim();
  const requestToken = env['ACTIONS_ID_TOKEN_REQUEST_TOKEN']?.trim();
  if (!requestUrl || !requestToken) return undefined;
  const separator = requestUrl.includes('?') ? '&' : '?';
  const url = `${requestUrl}${separator}audience=${encodeURIComponent(options.audience)}`;
  let json: unknown;
  try {
    const response = await fetch(url, {
      headers: { authorization: `bearer ${requestToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`the token endpoint answered ${response.status}`);
    json = await response.json();
  } catch (error) {
    throw new CliError(
      `cannot get the GitHub Actions identity token (does the job have "permissions: id-token: write"?): ${error instanceof Error ? error.message : String(error)}`,
      API_ERROR_EXIT_CODE,
    );
  }
  const parsed = githubTokenResponse.safeParse(json);
  if (!parsed.success) {
    throw new CliError('the GitHub Actions token endpoint answered without a token', API_ERROR_EXIT_CODE);
  }
  return { token: parsed.data.value, source: 'GitHub Actions' };
}
