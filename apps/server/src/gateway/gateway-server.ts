// The gateway as an MCP server: the downstream servers' tools listed as <server>__<tool> (denied
// ones left out), allowed calls forwarded, held calls turned into approval requests and forwarded
// once approved with exactly the arguments the digest covers, every result redacted.
import { createHash } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { canonicalJson } from '../audit/canonical-json.ts';
import { payloadDigest } from '../approvals/payload-digest.ts';
import type { McpIdentity } from '../mcp/approval-tools.ts';
import { decideTool, namespacedTool, TOOL_NAME } from './decide-tool.ts';
import {
  DownstreamUnavailableError,
  type DownstreamServers,
  type UpstreamPeer,
} from './downstream-servers.ts';
import type { GatewayBackend } from './gateway-backend.ts';
import type { Decision } from './gateway-file-schema.ts';
import { actionOf, holdCall, pendingText, refusalText } from './hold-call.ts';
import type { GatewayConfig } from './load-gateway-file.ts';
import { redactJson, redactText } from './redact-result.ts';
import { describeChange, pinOf, type ToolPins } from './tool-pins.ts';

/** Without a progress token, a held call is answered as pending after this long. */
export const DEFAULT_PENDING_AFTER_SECONDS = 20;
const MAX_DETAIL = 2000;
/** How long the agent's client may take to answer a forwarded sampling or elicitation request. */
const PEER_REQUEST_TIMEOUT_MS = 10 * 60_000;

export interface GatewayServerOptions {
  config: GatewayConfig;
  downstream: DownstreamServers;
  backend: GatewayBackend;
  identity: McpIdentity;
  version: string;
  pendingAfterSeconds?: number | undefined;
  /** Where tool definitions are pinned; without it definitions are not pinned. */
  pins?: ToolPins | undefined;
  /** One line per notable event (a hidden tool, a failed call); stderr by default. */
  warn?: ((message: string) => void) | undefined;
}

interface ListedTool {
  server: string;
  tool: Tool;
  decision: Decision;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function errorResult(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

export function resultDigest(result: CallToolResult): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(result)).digest('hex');
}

export function createGatewayServer(options: GatewayServerOptions): Server {
  const { config, downstream, backend, identity } = options;
  const warn =
    options.warn ?? ((message: string) => process.stderr.write(`countersign gateway: ${message}\n`));
  const pendingAfterSeconds = options.pendingAfterSeconds ?? DEFAULT_PENDING_AFTER_SECONDS;
  const secrets = config.secretValues;
  let listed = new Map<string, ListedTool>();

  const server = new Server(
    { name: 'countersign-gateway', version: options.version },
    {
      capabilities: { tools: { listChanged: false } },
      instructions:
        'Tools are those of the servers behind this Countersign gateway, named <server>__<tool>. Some calls ' +
        'are held until a person approves them; a result starting "pending approval" means: call again ' +
        'with the same arguments later.',
    },
  );

  /** True when the tool's definition is the pinned one, or a change an approver accepted. */
  const definitionAccepted = async (serverName: string, tool: Tool): Promise<boolean> => {
    const pins = options.pins;
    if (!pins) return true;
    const full = namespacedTool(serverName, tool.name);
    const pin = pinOf(tool);
    let known;
    try {
      known = await pins.get(full);
      if (!known) {
        await pins.set(full, pin);
        return true;
      }
    } catch (error) {
      // Unpinned is unchecked: hide the tool rather than serve a definition nobody can compare.
      warn(`${full} is hidden: its pin cannot be read or stored: ${redactText(String(error), secrets)}`);
      return false;
    }
    if (known.fingerprint === pin.fingerprint) return true;
    const key = createHash('sha256')
      .update(
        canonicalJson({ full, from: known.fingerprint, to: pin.fingerprint, who: identity.requester.email }),
      )
      .digest('hex');
    try {
      const review = await backend.create(
        {
          action: `${actionOf(serverName, tool.name)}.definition-change`,
          title: `Accept the changed definition of ${tool.name} on ${serverName}`,
          reason: redactText(describeChange(known, pin), secrets),
          context: redactJson(
            {
              server: serverName,
              tool: tool.name,
              fingerprint: pin.fingerprint,
              previousFingerprint: known.fingerprint,
              description: pin.description,
              inputSchema: pin.inputSchema,
            },
            secrets,
          ),
          requester: identity.requester,
          ...(identity.agent ? { agent: identity.agent } : {}),
        },
        `gateway-definition-${key}`,
      );
      if (review.status === 'approved') {
        await pins.set(full, pin);
        return true;
      }
      warn(
        `${full} is hidden: its definition changed since it was first seen; approval request ${review.id} is ${review.status}`,
      );
    } catch (error) {
      warn(
        `${full} is hidden: its definition changed and no review could be asked: ${backend.describe(error)}`,
      );
    }
    return false;
  };

  const refreshTools = async (): Promise<Map<string, ListedTool>> => {
    const next = new Map<string, ListedTool>();
    for (const { server: name, tools } of await downstream.listTools()) {
      for (const tool of tools) {
        if (!TOOL_NAME.test(tool.name) || `mcp.${name}.${tool.name}`.length > 200) {
          warn(`${name}: tool "${tool.name.slice(0, 80)}" left out: its name is not a valid MCP tool name`);
          continue;
        }
        const full = namespacedTool(name, tool.name);
        const decision = decideTool(config.file, full, tool.annotations?.readOnlyHint);
        if (decision === 'deny') continue;
        if (options.pins && !(await definitionAccepted(name, tool))) continue;
        next.set(full, { server: name, tool, decision });
      }
    }
    listed = next;
    return next;
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const tools = await refreshTools();
    return {
      tools: [...tools.entries()].map(([name, { tool }]) => redactJson({ ...tool, name }, secrets)),
    };
  });

  /** Where this call's sampling and elicitation requests go, when the gateway file forwards them. */
  const upstreamOf = (extra: Extra): UpstreamPeer => {
    const client = server.getClientCapabilities();
    return {
      createMessage: client?.sampling
        ? (params, signal) =>
            extra.sendRequest({ method: 'sampling/createMessage', params }, CreateMessageResultSchema, {
              signal,
              timeout: PEER_REQUEST_TIMEOUT_MS,
            })
        : undefined,
      elicit: client?.elicitation
        ? (params, signal) =>
            extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema, {
              signal,
              timeout: PEER_REQUEST_TIMEOUT_MS,
            })
        : undefined,
    };
  };

  const forward = async (
    entry: ListedTool,
    args: Record<string, unknown>,
    extra: Extra,
  ): Promise<CallToolResult> => {
    const result = await downstream.callTool(
      entry.server,
      entry.tool.name,
      args,
      extra.signal,
      upstreamOf(extra),
    );
    return redactJson(result, secrets);
  };

  /** An allowed call: forwarded at once, then put in the chain (digests and names only). */
  const runAllowed = async (
    entry: ListedTool,
    name: string,
    args: Record<string, unknown>,
    extra: Extra,
  ): Promise<CallToolResult> => {
    const base = {
      server: entry.server,
      tool: entry.tool.name,
      requester: identity.requester.email.toLowerCase(),
      agent: identity.agent?.name ?? null,
      payloadDigest: payloadDigest(actionOf(entry.server, entry.tool.name), args),
      secrets: config.secretsByServer[entry.server] ?? [],
    };
    let result: CallToolResult | undefined;
    let failure: string | undefined;
    try {
      result = await forward(entry, args, extra);
    } catch (error) {
      failure = redactText(error instanceof Error ? error.message : String(error), secrets);
    }
    await backend
      .recordForwarded({
        ...base,
        isError: result ? result.isError === true : null,
        resultDigest: result ? resultDigest(result) : null,
        error: failure?.slice(0, MAX_DETAIL) ?? null,
      })
      .catch((error: unknown) =>
        warn(`${name} ran but could not be put in the audit chain: ${backend.describe(error)}`),
      );
    return result ?? errorResult(failure ?? `${name} failed`);
  };

  const runApproved = async (
    entry: ListedTool,
    name: string,
    args: Record<string, unknown>,
    approvalId: string,
    digest: string,
    extra: Extra,
  ): Promise<CallToolResult> => {
    const secretsUsed = config.secretsByServer[entry.server] ?? [];
    const used = secretsUsed.length > 0 ? `; secrets: ${secretsUsed.join(', ')}` : '';
    let result: CallToolResult;
    try {
      result = await forward(entry, args, extra);
    } catch (error) {
      const reason = redactText(error instanceof Error ? error.message : String(error), secrets);
      await backend
        .finishExecution(approvalId, digest, 'failed', `${name}: ${reason}${used}`.slice(0, MAX_DETAIL))
        .catch((recordError: unknown) =>
          warn(`recording the failure of ${approvalId}: ${backend.describe(recordError)}`),
        );
      return errorResult(`${name} was approved (request ${approvalId}) but the call failed: ${reason}`);
    }
    const isError = result.isError === true;
    await backend.finishExecution(
      approvalId,
      digest,
      isError ? 'failed' : 'succeeded',
      `${name}: isError=${isError}; result ${resultDigest(result)}${used}`.slice(0, MAX_DETAIL),
    );
    return result;
  };

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const name = request.params.name;
    const entry = listed.get(name) ?? (await refreshTools()).get(name);
    if (!entry) {
      const serverName = name.split('__')[0] ?? '';
      const unhealthy = downstream.health().find((h) => h.server === serverName && !h.healthy);
      if (unhealthy) {
        return errorResult(
          `downstream server "${serverName}" is unavailable: ${unhealthy.error ?? 'not connected'}`,
        );
      }
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
    // What the digest covers is exactly what is forwarded: a copy in canonical form.
    const args = JSON.parse(canonicalJson(request.params.arguments ?? {})) as Record<string, unknown>;
    try {
      if (entry.decision === 'allow') return await runAllowed(entry, name, args, extra);
      const progressToken = extra._meta?.progressToken;
      let step = 0;
      const outcome = await holdCall(
        {
          server: entry.server,
          tool: entry.tool.name,
          description: entry.tool.description && redactText(entry.tool.description, secrets),
          args,
        },
        {
          backend,
          identity,
          pendingAfterSeconds,
          signal: extra.signal,
          onProgress:
            progressToken === undefined
              ? undefined
              : async (approval, waited) => {
                  step += 1;
                  const approvals = approval.decisions.filter((d) => d.verdict === 'approve').length;
                  await extra.sendNotification({
                    method: 'notifications/progress',
                    params: {
                      progressToken,
                      progress: step,
                      message:
                        `waiting for approval ${approval.id}: ${approvals}/${approval.quorum} approvals, ` +
                        `waited ${waited} s`,
                    },
                  });
                },
        },
      );
      if (outcome.kind === 'pending') return errorResult(pendingText(outcome.approval, name));
      if (outcome.kind === 'refused') return errorResult(refusalText(outcome.approval, name));
      return await runApproved(entry, name, args, outcome.approval.id, outcome.payloadDigest, extra);
    } catch (error) {
      if (error instanceof DownstreamUnavailableError) return errorResult(error.message);
      return errorResult(`${name} was not run: ${redactText(backend.describe(error), secrets)}`);
    }
  });

  return server;
}
