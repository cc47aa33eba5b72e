// Shared pieces for the HTTP integration tests: the spec's example body, a create helper, problem
// assertions, a snapshot of stored data (to prove an error changed nothing) and a manual clock.
import pg from 'pg';
import { expect } from 'vitest';
import type { Clock } from '../../apps/server/src/deps.ts';
import { ERROR_CODES, type ErrorCode } from '../../apps/server/src/errors.ts';
import type { ApprovalRepresentation } from '../../apps/server/src/approvals/view/approval.ts';
import type { Problem } from '../../apps/server/src/http/contracts/problem.ts';
import type { ApiResponse, CallOptions, TestServer } from './test-server.ts';

export type Approval = ApprovalRepresentation;
export type { Problem };

/**
 * The create body of spec §2, every field set. The spec's callback host (ci.example.com) is swapped
 * for a public documentation address: the SSRF guard resolves host names and tests run offline.
 */
export function specExampleBody() {
  return {
    action: 'db.export',
    title: 'Export users table to the analytics bucket',
    reason: 'Quarterly churn analysis',
    requester: { email: 'alice@example.com', name: 'Alice' },
    agent: { name: 'analytics-agent', model: 'gpt-x', runId: 'run_123' },
    context: { table: 'users', rows: 120000, destination: 's3://analytics/export', token: 'sk-live-abc123' },
    sensitive: ['/destination'],
    approvers: ['bob@example.com'],
    quorum: 1,
    channel: 'slack:C0123ABCD',
    expiresIn: 3600,
    callbackUrl: 'https://203.0.113.10/hooks/countersign',
  };
}

/** POSTs a request (minimal body unless overridden) and insists it was created. */
export async function createApproval(
  t: TestServer,
  key: string,
  body: Record<string, unknown> = {},
  options: Omit<CallOptions, 'key' | 'body'> = {},
): Promise<Approval> {
  const response = await t.call<Approval>('POST', '/v1/approvals', {
    ...options,
    key,
    body: { action: 'db.export', requester: { email: 'alice@example.com' }, ...body },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

/** Asserts an RFC 9457 problem with the code's status, the request id and, if given, these pointers. */
export function expectProblem(response: ApiResponse<unknown>, code: ErrorCode, pointers?: string[]): Problem {
  const problem = response.body as Problem;
  expect(response.status, JSON.stringify(response.body)).toBe(ERROR_CODES[code].status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
  expect(problem.code).toBe(code);
  expect(problem.status).toBe(ERROR_CODES[code].status);
  expect(problem.title).toBe(ERROR_CODES[code].title);
  expect(problem.detail).toEqual(expect.any(String));
  expect(problem.requestId).toBeTruthy();
  expect(problem.requestId).toBe(response.headers.get('x-request-id'));
  if (pointers) expect(problem.errors?.map((e) => e.pointer)).toEqual(expect.arrayContaining(pointers));
  return problem;
}

export interface DataSnapshot {
  requests: number;
  decisions: number;
  auditEvents: number;
  clients: number;
  /** A digest over every approval_requests row, so an in-place change shows too. */
  requestsDigest: string;
  lastAuditSeq: string;
}

/** What is stored, read over a connection of its own (not the server's pool). */
export async function snapshotData(t: TestServer): Promise<DataSnapshot> {
  return withPgClient(t.database.url, async (client) => {
    const { rows } = await client.query<DataSnapshot>(`
      SELECT (SELECT count(*) FROM approval_requests)::int AS "requests",
             (SELECT count(*) FROM decisions)::int AS "decisions",
             (SELECT count(*) FROM audit_events)::int AS "auditEvents",
             (SELECT count(*) FROM clients)::int AS "clients",
             (SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r.id), '')) FROM approval_requests r)
               AS "requestsDigest",
             (SELECT coalesce(max(seq), 0)::text FROM audit_events) AS "lastAuditSeq"`);
    const [row] = rows;
    if (!row) throw new Error('snapshot query returned no row');
    return row;
  });
}

export async function withPgClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Real time until set; once set, returns that instant and moves on by `stepMs` per reading. */
export class ManualClock implements Clock {
  private current: number | undefined;
  private stepMs = 0;

  now(): Date {
    if (this.current === undefined) return new Date();
    const at = this.current;
    this.current += this.stepMs;
    return new Date(at);
  }

  set(at: Date, stepMs = 0): void {
    this.current = at.getTime();
    this.stepMs = stepMs;
  }

  useRealTime(): void {
    this.current = undefined;
  }
}
