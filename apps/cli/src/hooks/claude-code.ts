// The Claude Code PreToolUse hook protocol, and nothing else: the event read from stdin and the
// decision written to stdout. Hooks for other coding agents (Codex, Cursor, …) go beside this file.
import { z } from 'zod';
import { analyzeBash } from './bash-commands.ts';
import type { ToolCall } from './hook-rules.ts';

/** The PreToolUse event; fields Claude Code adds later pass through. */
export const preToolUseEventSchema = z.looseObject({
  session_id: z.string().optional(),
  transcript_path: z.string().optional(),
  cwd: z.string().optional(),
  hook_event_name: z.literal('PreToolUse'),
  tool_name: z.string().min(1),
  tool_input: z.record(z.string(), z.unknown()),
  tool_use_id: z.string().optional(),
});

export type PreToolUseEvent = z.infer<typeof preToolUseEventSchema>;

export class HookInputError extends Error {
  override name = 'HookInputError';
}

export function parsePreToolUseEvent(text: string): PreToolUseEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HookInputError('the hook input on stdin is not JSON');
  }
  const parsed = preToolUseEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HookInputError(
      `the hook input is not a PreToolUse event: ${issue?.path.join('.') || 'input'} ${issue?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}

function stringField(input: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = input[name];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** What the rules match on: the tool, Bash's command line, a file tool's path. */
export function toolCallOf(event: PreToolUseEvent): ToolCall {
  return {
    toolName: event.tool_name,
    command: event.tool_name === 'Bash' ? stringField(event.tool_input, 'command') : undefined,
    filePath: stringField(event.tool_input, 'file_path', 'notebook_path', 'path'),
    cwd: event.cwd,
  };
}

/** The call with its Bash command line parsed, as the rules need it. */
export async function parsedToolCallOf(event: PreToolUseEvent): Promise<ToolCall> {
  const call = toolCallOf(event);
  return call.command === undefined ? call : { ...call, bash: await analyzeBash(call.command) };
}

/** A one-line title for the approval card. */
export function titleOf(event: PreToolUseEvent): string {
  const call = toolCallOf(event);
  const what = call.command ?? call.filePath ?? '';
  const title = `Claude Code: ${event.tool_name}${what ? ` ${what.replace(/\s+/g, ' ')}` : ''}`;
  return title.length > 300 ? `${title.slice(0, 299)}…` : title;
}

export type PermissionDecision = 'allow' | 'deny';

/** The documented hook output: exit 0 with this JSON on stdout. */
export function decisionOutput(decision: PermissionDecision, reason: string): string {
  return JSON.stringify({
    hookSpecificOutput: {
      hookEventName: 'PreToolUse',
      permissionDecision: decision,
      permissionDecisionReason: reason,
    },
  });
}
