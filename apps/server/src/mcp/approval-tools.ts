// The MCP server of Countersign: tools request_approval, get_approval and cancel_approval over an
// ApprovalBackend (the REST API for `countersign mcp`, the use cases in-process for /mcp). Input
// schemas are the REST contract's own zod fields, minus who asks: the requester and agent come from
// the server's configuration, so a model can never name another requester and approve itself.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ApprovalRepresentation } from '../approvals/view/approval.ts';
import { approvalStatusSchema } from '../approvals/view/approval.ts';
import { limitedText } from '../http/contracts/limited-text.ts';
import { createApprovalBody } from '../http/routes/approvals.create.ts';

/** The longest a tool call waits for a verdict; after that it answers with the pending request. */
export const MAX_TOOL_WAIT_SECONDS = 600;
/** Each long-poll is this long, and a progress notification goes out between two of them. */
export const PROGRESS_INTERVAL_SECONDS = 5;

/** Who the server acts for: set by its configuration, never by a tool argument. */
export interface McpIdentity {
  requester: { email: string; name?: string | undefined };
  agent?: { name: string; model?: string | undefined; runId?: string | undefined } | undefined;
}

export type CreateApprovalInput = z.input<typeof createApprovalBody>;

/** Where the tools send their calls. Errors carry the server's code and detail in their message. */
export interface ApprovalBackend {
  create(body: CreateApprovalInput, idempotencyKey: string): Promise<ApprovalRepresentation>;
  get(id: string, waitSeconds: number, signal: AbortSignal): Promise<ApprovalRepresentation>;
  cancel(id: string, reason: string | undefined): Promise<ApprovalRepresentation>;
  /** True for failures worth waiting out (the server restarting, a proxy's 502/503/504). */
  isTransient(error: unknown): boolean;
  /** A one-line description of an error for the model ("POLICY_VIOLATION: …"). */
  describe(error: unknown): string;
}

/** A failure of the tool itself (not of the backend), told to the model as it is. */
export class ToolCallError extends Error {
  override name = 'ToolCallError';
}

/** Arguments a model might try in order to choose who it acts for; they are configuration. */
const IDENTITY_FIELDS = ['requester', 'agent', 'callbackUrl'];

function unknownArgumentsMessage(keys: readonly string[]): string {
  const identity = keys.filter((k) => IDENTITY_FIELDS.includes(k));
  const other = keys.filter((k) => !IDENTITY_FIELDS.includes(k));
  const parts: string[] = [];
  if (identity.length > 0) {
    parts.push(
      `${identity.join(', ')} cannot be set by a tool call: the requester, agent and callback come ` +
        "from the Countersign MCP server's configuration",
    );
  }
  if (other.length > 0) parts.push(`unknown argument${other.length > 1 ? 's' : ''}: ${other.join(', ')}`);
  return parts.join('; ');
}

/** A strict object whose unknown-key error names the keys and, for identity fields, says why. */
function strictToolInput<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownArgumentsMessage(issue.keys) : undefined),
  });
}

const fields = createApprovalBody.shape;

const waitArgument = z
  .union([z.boolean(), z.number().int().min(0).max(MAX_TOOL_WAIT_SECONDS)])
  .optional()
  .describe(
    `wait for the verdict: true (the default) waits up to ${MAX_TOOL_WAIT_SECONDS} s, a number waits ` +
      'that many seconds, false or 0 returns at once; a request still pending afterwards is returned as pending',
  );

export const requestApprovalInput = strictToolInput({
  action: fields.action.describe('dotted name of what will be done, e.g. "db.export"'),
  title: fields.title.describe('one line for the approval card'),
  reason: fields.reason.describe('why the action is needed'),
  context: fields.context.describe(
    'what exactly will be done (JSON object); secrets are masked, and the approval is bound to its digest',
  ),
  sensitive: fields.sensitive.describe('JSON pointers into context to mask, e.g. ["/destination"]'),
  approvers: fields.approvers.describe('approver emails; may only narrow what the policy allows'),
  quorum: fields.quorum.describe('approvals needed; may only raise the policy quorum'),
  channel: fields.channel.describe('"slack:<channel id>" or "teams:<id>"; only channels the policy lists'),
  expiresIn: fields.expiresIn.describe('seconds or "30m", "1h"; may only shorten the policy expiry'),
  breakGlass: fields.breakGlass.describe(
    'emergency only: the reason (e.g. "prod down, INC-123"); where the policy rule allows break-glass the request is approved at once, marked break-glass, and reviewed afterwards by people',
  ),
  wait: waitArgument,
});

export const getApprovalInput = strictToolInput({
  id: z.uuid().describe('the approval request id'),
  wait: waitArgument,
});

export const cancelApprovalInput = strictToolInput({
  id: z.uuid().describe('the approval request id'),
  reason: limitedText('reason').optional().describe('why it is withdrawn'),
});

export const approvalOutput = z.object({
  id: z.uuid(),
  status: approvalStatusSchema,
  action: z.string(),
  decisions: z.array(
    z.object({
      approver: z.string(),
      platform: z.string(),
      verdict: z.enum(['approve', 'deny']),
      reason: z.string().nullable(),
      at: z.string(),
    }),
  ),
  payloadDigest: z.string(),
  expiresAt: z.string(),
  receipt: z
    .string()
    .optional()
    .describe('compact JWS over the verdict, verifiable against GET /v1/keys/receipt; present once decided'),
  breakGlass: z
    .object({ reason: z.string(), review: z.enum(['pending', 'acknowledged', 'flagged', 'overdue']) })
    .optional()
    .describe(
      'present when the requester used break-glass: the emergency reason and where its review stands',
    ),
});
export type ApprovalToolResult = z.infer<typeof approvalOutput>;

/**
 * Proves an "approved" answer before the model is told so: verifies the receipt's signature, request,
 * action, digest (of `context` when the tool sent it) and status; throws saying why it does not.
 */
export type VerifyApproved = (
  approval: ApprovalRepresentation,
  context: Record<string, unknown> | undefined,
) => Promise<unknown>;

export interface ApprovalMcpServerOptions {
  backend: ApprovalBackend;
  verifyApproved: VerifyApproved;
  identity: McpIdentity;
  version: string;
  /** Aborted when the hosting server shuts down: waits end with a clear error. */
  shutdown?: AbortSignal | undefined;
  progressIntervalSeconds?: number | undefined;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export function createApprovalMcpServer(options: ApprovalMcpServerOptions): McpServer {
  const { backend, identity, verifyApproved } = options;
  const interval = options.progressIntervalSeconds ?? PROGRESS_INTERVAL_SECONDS;
  const server = new McpServer(
    { name: 'countersign', version: options.version },
    {
      instructions:
        'Ask a human for approval before a risky action with request_approval, and do the action only ' +
        'when the status is "approved". The requester is fixed by configuration.',
    },
  );

  const guarded =
    <A>(run: (args: A, extra: Extra) => Promise<CallToolResult>) =>
    async (args: A, extra: Extra): Promise<CallToolResult> => {
      try {
        return await run(args, extra);
      } catch (error) {
        const text = error instanceof ToolCallError ? error.message : backend.describe(error);
        return { isError: true, content: [{ type: 'text', text }] };
      }
    };

  /** The tool's answer; an approved status without a valid receipt is an error, never "approved". */
  const answer = async (
    approval: ApprovalRepresentation,
    waitedSeconds: number,
    context?: Record<string, unknown>,
  ): Promise<CallToolResult> => {
    if (approval.status === 'approved') {
      try {
        await verifyApproved(approval, context);
      } catch (error) {
        const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
        return {
          isError: true,
          content: [
            {
              type: 'text',
              text: `Not approved: ${why}. Do not do ${approval.action} (request ${approval.id}).`,
            },
          ],
        };
      }
    }
    return {
      content: [{ type: 'text', text: verdictLine(approval, waitedSeconds) }],
      structuredContent: toToolResult(approval),
    };
  };

  const waitAndAnswer = async (
    approval: ApprovalRepresentation,
    wait: boolean | number | undefined,
    extra: Extra,
    context?: Record<string, unknown>,
  ) => {
    const seconds = wait === undefined || wait === true ? MAX_TOOL_WAIT_SECONDS : wait === false ? 0 : wait;
    const final = await waitForVerdict(approval, seconds, extra);
    return answer(final, seconds, context);
  };

  const waitForVerdict = async (
    approval: ApprovalRepresentation,
    seconds: number,
    extra: Extra,
  ): Promise<ApprovalRepresentation> => {
    const started = Date.now();
    const deadline = started + seconds * 1000;
    const signal = options.shutdown ? AbortSignal.any([extra.signal, options.shutdown]) : extra.signal;
    let current = approval;
    let failures = 0;
    while (current.status === 'pending' && Date.now() < deadline) {
      if (options.shutdown?.aborted) {
        throw new ToolCallError(
          `Countersign is shutting down; request ${current.id} is still pending: ` +
            'call get_approval with its id to keep waiting',
        );
      }
      if (extra.signal.aborted) throw new ToolCallError('the tool call was cancelled');
      await notifyProgress(extra, Math.round((Date.now() - started) / 1000), seconds, current);
      const chunk = Math.max(1, Math.min(interval, Math.ceil((deadline - Date.now()) / 1000)));
      try {
        current = await backend.get(current.id, chunk, signal);
        failures = 0;
      } catch (error) {
        if (options.shutdown?.aborted) continue; // the loop's first check answers
        if (!backend.isTransient(error) || signal.aborted) throw error;
        failures += 1;
        await notifyProgress(
          extra,
          Math.round((Date.now() - started) / 1000),
          seconds,
          current,
          `Countersign unreachable (${backend.describe(error)}), retrying`,
        );
        const pause = Math.min(5000, 250 * 2 ** Math.min(failures, 5), Math.max(0, deadline - Date.now()));
        await sleep(pause, undefined, { signal }).catch(() => undefined);
      }
    }
    return current;
  };

  server.registerTool(
    'request_approval',
    {
      title: 'Request approval',
      description:
        'Ask a human to approve an action before doing it. Creates an approval request under the ' +
        "operator's policy (approvers, quorum and expiry may only be narrowed) and, unless wait is false, " +
        'waits for the verdict while sending progress notifications. Do the action only when status is ' +
        '"approved"; the receipt proves the verdict and binds it to the payloadDigest of {action, context}.',
      inputSchema: requestApprovalInput,
      outputSchema: approvalOutput,
      annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    guarded(async ({ wait, ...fieldsOfRequest }, extra) => {
      const body: CreateApprovalInput = {
        ...stripUndefined(fieldsOfRequest),
        requester: identity.requester,
        ...(identity.agent ? { agent: identity.agent } : {}),
      };
      const created = await backend.create(body, `mcp-${randomUUID()}`);
      return waitAndAnswer(created, wait, extra, fieldsOfRequest.context ?? {});
    }),
  );

  server.registerTool(
    'get_approval',
    {
      title: 'Get approval',
      description:
        'Read an approval request created through this server and, unless wait is false, wait for its ' +
        'verdict (progress notifications while waiting).',
      inputSchema: getApprovalInput,
      outputSchema: approvalOutput,
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    guarded(async ({ id, wait }, extra) => {
      const current = await backend.get(id, 0, extra.signal);
      return waitAndAnswer(current, wait, extra);
    }),
  );

  server.registerTool(
    'cancel_approval',
    {
      title: 'Cancel approval',
      description: 'Withdraw a pending approval request created through this server.',
      inputSchema: cancelApprovalInput,
      outputSchema: approvalOutput,
      annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    guarded(async ({ id, reason }) => answer(await backend.cancel(id, reason), 0)),
  );

  return server;
}

async function notifyProgress(
  extra: Extra,
  elapsed: number,
  total: number,
  approval: ApprovalRepresentation,
  note?: string,
): Promise<void> {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return;
  const approvals = new Set(
    approval.decisions.filter((d) => d.verdict === 'approve').map((d) => d.approver.email),
  );
  const message =
    `request ${approval.id} is ${approval.status}: ${approvals.size}/${approval.quorum} approvals, ` +
    `waited ${elapsed} s of ${total} s` +
    (note ? `; ${note}` : '');
  await extra.sendNotification({
    method: 'notifications/progress',
    params: { progressToken, progress: elapsed, total, message },
  });
}

function stripUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function toToolResult(approval: ApprovalRepresentation): ApprovalToolResult {
  return {
    id: approval.id,
    status: approval.status,
    action: approval.action,
    decisions: approval.decisions.map((d) => ({
      approver: d.approver.email,
      platform: d.approver.platform,
      verdict: d.verdict,
      reason: d.reason,
      at: d.at,
    })),
    payloadDigest: approval.payloadDigest,
    expiresAt: approval.expiresAt,
    ...(approval.receipt !== undefined ? { receipt: approval.receipt } : {}),
    ...(approval.breakGlass
      ? { breakGlass: { reason: approval.breakGlass.reason, review: approval.breakGlass.review } }
      : {}),
  };
}

/** One line for the model: the verdict and who gave it, or that it is still pending; break-glass first. */
export function verdictLine(approval: ApprovalRepresentation, waitedSeconds: number): string {
  const line = plainVerdictLine(approval, waitedSeconds);
  return approval.breakGlass ? `BREAK-GLASS: ${line} (review: ${approval.breakGlass.review})` : line;
}

function plainVerdictLine(approval: ApprovalRepresentation, waitedSeconds: number): string {
  const wanted = approval.status === 'approved' ? 'approve' : 'deny';
  const deciders = approval.decisions.filter((d) => d.verdict === wanted);
  const who = deciders.map((d) => `${d.approver.email} (${d.approver.platform})`).join(', ');
  const reasons = deciders.filter((d) => d.reason).map((d) => d.reason);
  const because = reasons.length > 0 ? `; reason: ${reasons.join('; ')}` : '';
  switch (approval.status) {
    case 'approved':
      return `Approved by ${who || 'policy'}${because}. You may now do ${approval.action} exactly as requested (request ${approval.id}).`;
    case 'denied':
      return `Denied by ${who}${because}. Do not do ${approval.action} (request ${approval.id}).`;
    case 'expired':
      return `Expired without a verdict. Do not do ${approval.action} (request ${approval.id}).`;
    case 'cancelled':
      return `Cancelled. Do not do ${approval.action} (request ${approval.id}).`;
    case 'pending':
      return waitedSeconds > 0
        ? `Still pending after ${waitedSeconds} s. Do not do ${approval.action} yet; call get_approval with id ${approval.id} to keep waiting.`
        : `Pending (request ${approval.id}); call get_approval with this id to wait for the verdict.`;
  }
}
