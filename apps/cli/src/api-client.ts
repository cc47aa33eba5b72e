// A small typed client for the REST API as the CLI uses it: fetch, responses checked with zod,
// problem+json answers and unreachable servers turned into CliErrors (exit 3).
import type { createDelegationBody } from '../../server/src/http/contracts/delegation.ts';
import { delegationSchema } from '../../server/src/http/contracts/delegation.ts';
import { z } from 'zod';
import type { createApprovalBody } from '../../server/src/http/routes/approvals.create.ts';
import { approvalSchema } from '../../server/src/approvals/view/approval.ts';
import { executionSchema, type recordExecutionBody } from '../../server/src/http/contracts/execution.ts';
import type { RecordGatewayCallBody } from '../../server/src/http/contracts/gateway-call.ts';
import { problemSchema, type Problem } from '../../server/src/http/contracts/problem.ts';
import {
  policyProposalSchema,
  type proposePolicyBody,
} from '../../server/src/http/contracts/policy-proposal.ts';
import { optionalString } from '../../server/src/config.ts';
import {
  policyVersionListSchema,
  type PolicyVersionSummaryBody,
} from '../../server/src/http/contracts/policy-version.ts';
import { CliError } from './cli-error.ts';

/** Exit code for any failure to talk to the server (spec §7: 3 on error). */
export const API_ERROR_EXIT_CODE = 3;

/** The request body of POST /v1/approvals, as the server's contract accepts it. */
export type CreateApprovalBody = z.input<typeof createApprovalBody>;

// Loose: fields the server adds later (a receipt, say) survive into `--json` output.
const approvalResponseSchema = approvalSchema.loose();
export type Approval = z.infer<typeof approvalResponseSchema>;

/** The CLI's own view of the environment: only where the server is and which key to use. */
const cliEnvSchema = z.object({
  COUNTERSIGN_URL: optionalString,
  COUNTERSIGN_API_KEY: optionalString,
});

const serverUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export interface Connection {
  baseUrl: string;
  apiKey: string;
}

/** Server URL and API key from flags, else COUNTERSIGN_URL / COUNTERSIGN_API_KEY; exit 3 if missing. */
export function resolveConnection(
  flags: { url?: string | undefined; apiKey?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const fromEnv = cliEnvSchema.parse(env);
  const url = flags.url?.trim() || fromEnv.COUNTERSIGN_URL;
  const urlSource = flags.url?.trim() ? '--url' : 'COUNTERSIGN_URL';
  const apiKey = flags.apiKey?.trim() || fromEnv.COUNTERSIGN_API_KEY;
  if (!url) {
    throw new CliError('no server URL: set COUNTERSIGN_URL or pass --url', API_ERROR_EXIT_CODE);
  }
  const parsedUrl = serverUrlSchema.safeParse(url);
  if (!parsedUrl.success) {
    throw new CliError(
      `${urlSource} ${parsedUrl.error.issues[0]?.message ?? 'is invalid'}`,
      API_ERROR_EXIT_CODE,
    );
  }
  if (!apiKey) {
    throw new CliError('no API key: set COUNTERSIGN_API_KEY or pass --api-key', API_ERROR_EXIT_CODE);
  }
  return { baseUrl: parsedUrl.data, apiKey };
}

/** The server could not be reached, or the connection broke or timed out: worth retrying. */
export class ApiUnreachableError extends CliError {
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string) {
    super(`cannot reach ${url}: ${reason}`, API_ERROR_EXIT_CODE);
    this.url = url;
    this.reason = reason;
    this.name = 'ApiUnreachableError';
  }
}

/** The server answered with an error status (problem+json when it is Countersign answering). */
export class ApiResponseError extends CliError {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(method: string, path: string, status: number, problem: Problem | undefined, bodyText: string) {
    super(describeFailure(method, path, status, problem, bodyText), API_ERROR_EXIT_CODE);
    this.method = method;
    this.path = path;
    this.status = status;
    this.problem = problem;
    this.name = 'ApiResponseError';
  }

  /** Statuses a proxy or a restarting server gives for a moment. */
  get isTransient(): boolean {
    return this.status === 502 || this.status === 503 || this.status === 504;
  }
}

function describeFailure(
  method: string,
  path: string,
  status: number,
  problem: Problem | undefined,
  bodyText: string,
): string {
  if (!problem) {
    const excerpt = bodyText.trim().slice(0, 200);
    return `${method} ${path} failed with HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`;
  }
  const lines = [`${method} ${path} failed with HTTP ${status} ${problem.code}: ${problem.detail}`];
  for (const error of problem.errors ?? []) lines.push(`  ${error.pointer || '/'}: ${error.message}`);
  lines.push(`  (request id ${problem.requestId})`);
  return lines.join('\n');
}

/** Why fetch (or node:http) failed, in a few words: the system error code where there is one. */
export function reasonOf(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'no answer in time';
  if (error instanceof Error) {
    if ('code' in error && typeof error.code === 'string' && error.code.startsWith('E')) return error.code;
    const cause: unknown = error.cause;
    if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') {
      return cause.code;
    }
    if (cause instanceof Error) return cause.message;
    return error.message;
  }
  return String(error);
}

export interface ApiClientOptions extends Connection {
  /** Per-request time limit, on top of any long-poll wait. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

export interface ApiClient {
  createApproval(
    body: CreateApprovalBody,
    options: { idempotencyKey: string; identityToken?: string | undefined },
  ): Promise<Approval>;
  /** GET /v1/approvals/{id}; with waitSeconds the server holds the answer until a verdict or then. */
  getApproval(
    id: string,
    options?: { waitSeconds?: number; signal?: AbortSignal | undefined },
  ): Promise<Approval>;
  cancelApproval(id: string, reason?: string): Promise<Approval>;
  /** POST /v1/approvals/{id}/execution: record the start (once) or the outcome of a run. */
  recordExecution(id: string, body: RecordExecutionBody): Promise<Execution>;
  /** POST /v1/gateway/calls: an allowed gateway call, into the audit chain. */
  recordGatewayCall(body: RecordGatewayCallBody): Promise<void>;
  /** POST /v1/policy/proposals: a policy change, decided as a policy.change request. */
  proposePolicy(body: z.input<typeof proposePolicyBody>): Promise<PolicyProposalAnswer>;
  /** GET /v1/policy/versions, every page: the stored versions, newest first. */
  listPolicyVersions(): Promise<PolicyVersionSummaryBody[]>;
  /** /v1/delegations (scope admin). */
  addDelegation(body: z.input<typeof createDelegationBody>): Promise<DelegationView>;
  listDelegations(query: { email?: string; ended?: boolean }): Promise<DelegationView[]>;
  removeDelegation(id: string): Promise<DelegationView>;
}

export type DelegationView = z.infer<typeof delegationSchema>;

const policyProposalAnswerSchema = policyProposalSchema.extend({ approval: approvalResponseSchema });
export type PolicyProposalAnswer = z.infer<typeof policyProposalAnswerSchema>;

/** The request body of POST /v1/approvals/{id}/execution. */
export type RecordExecutionBody = z.input<typeof recordExecutionBody>;
export type Execution = z.infer<typeof executionSchema>;

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;

  async function call<T = Approval>(
    method: 'GET' | 'POST',
    path: string,
    init: {
      body?: unknown;
      headers?: Record<string, string>;
      extraTimeoutMs?: number;
      signal?: AbortSignal | undefined;
      schema?: z.ZodType<T>;
    } = {},
  ): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), base);
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      authorization: `Bearer ${options.apiKey}`,
      ...(options.userAgent ? { 'user-agent': options.userAgent } : {}),
      ...init.headers,
    };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let contentType: string;
    let text: string;
    try {
      const response = await fetch(url, {
        method,
        headers,
        redirect: 'error',
        signal: AbortSignal.any([
          AbortSignal.timeout(requestTimeoutMs + (init.extraTimeoutMs ?? 0)),
          ...(init.signal ? [init.signal] : []),
        ]),
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      status = response.status;
      contentType = response.headers.get('content-type') ?? '';
      text = await response.text();
    } catch (error) {
      throw new ApiUnreachableError(options.baseUrl, reasonOf(error));
    }
    if (status < 200 || status > 299) {
      throw new ApiResponseError(method, url.pathname, status, problemOf(contentType, text), text);
    }
    const json = parseJson(text);
    const schema = init.schema ?? (approvalResponseSchema as unknown as z.ZodType<T>);
    const approval = schema.safeParse(json);
    if (!approval.success) {
      const issue = approval.error.issues[0];
      throw new CliError(
        `${method} ${url.pathname} answered ${status} with an unexpected body` +
          (issue ? ` (/${issue.path.join('/')}: ${issue.message})` : ''),
        API_ERROR_EXIT_CODE,
      );
    }
    return approval.data;
  }

  return {
    createApproval(body, { idempotencyKey, identityToken }) {
      const headers: Record<string, string> = { 'idempotency-key': idempotencyKey };
      if (identityToken !== undefined) headers['countersign-identity-token'] = identityToken;
      return call('POST', '/v1/approvals', { body, headers });
    },
    getApproval(id, { waitSeconds, signal } = {}) {
      const query = waitSeconds === undefined ? '' : `?wait=${waitSeconds}`;
      return call('GET', `/v1/approvals/${encodeURIComponent(id)}${query}`, {
        extraTimeoutMs: (waitSeconds ?? 0) * 1000,
        signal,
      });
    },
    cancelApproval(id, reason) {
      return call('POST', `/v1/approvals/${encodeURIComponent(id)}/cancel`, {
        body: reason === undefined ? {} : { reason },
      });
    },
    recordExecution(id, body) {
      return call('POST', `/v1/approvals/${encodeURIComponent(id)}/execution`, {
        body,
        schema: executionSchema,
      });
    },
    async recordGatewayCall(body) {
      await call('POST', '/v1/gateway/calls', { body, schema: z.object({ recorded: z.literal(true) }) });
    },
    proposePolicy(body) {
      return call('POST', '/v1/policy/proposals', { body, schema: policyProposalAnswerSchema });
    },
    async listPolicyVersions() {
      const versions: PolicyVersionSummaryBody[] = [];
      let cursor: string | null = null;
      do {
        const query: string = new URLSearchParams({ limit: '100', ...(cursor ? { cursor } : {}) }).toString();
        const page = await call('GET', `/v1/policy/versions?${query}`, { schema: policyVersionListSchema });
        versions.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null);
      return versions;
    },
    addDelegation(body) {
      return call('POST', '/v1/delegations', { body, schema: delegationSchema });
    },
    async listDelegations({ email, ended }) {
      const query = new URLSearchParams({
        ...(email ? { email } : {}),
        ...(ended ? { ended: 'true' } : {}),
      }).toString();
      const list = await call('GET', `/v1/delegations${query ? `?${query}` : ''}`, {
        schema: z.object({ items: z.array(delegationSchema) }),
      });
      return list.items;
    },
    removeDelegation(id) {
      return call('POST', `/v1/delegations/${encodeURIComponent(id)}/remove`, { schema: delegationSchema });
    },
  };
}

/** The problem+json body of an error answer, when it is one. */
export function problemOf(contentType: string, text: string): Problem | undefined {
  return contentType.includes('json') ? problemSchema.safeParse(parseJson(text)).data : undefined;
}

function parseJson(text: string): unknown {
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}
