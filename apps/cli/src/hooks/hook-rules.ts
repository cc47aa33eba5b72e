// The rules file of `countersign hook`: which tool calls need an approval, and under which action.
// Globs are our own small dialect, matched against the whole value: `*` any run of characters (in
// paths: except `/`), `**` any run including `/`, `?` one character; tool names take `A|B` too.
// Bash command globs match each command the line runs, as parsed (bash-commands.ts); a line that
// cannot be resolved statically matches every rule.
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { BashAnalysis, BashCommand } from './bash-commands.ts';

const ruleSchema = z.strictObject({
  tool: z.string().min(1).describe('tool name, exact or glob; "Edit|Write" for either'),
  command: z.string().min(1).optional().describe('Bash only: glob on the whole command line'),
  path: z.string().min(1).optional().describe('file tools: glob on the file path (relative to cwd)'),
  action: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted name like "db.query"'),
});

const rulesFileSchema = z.strictObject({
  rules: z.array(ruleSchema),
  default: z
    .enum(['pass', 'ask'])
    .default('pass')
    .describe('Bash commands no rule names: "pass" lets them through, "ask" gates all but allow: ones'),
  defaultAction: ruleSchema.shape.action
    .default('shell.command')
    .describe('the action of default: ask requests'),
  allow: z
    .array(z.string().min(1))
    .default([])
    .describe('with default: ask, command globs that pass when every command of the line matches one'),
});

export type HookRule = z.infer<typeof ruleSchema>;
export type HookRulesFile = z.infer<typeof rulesFileSchema>;

/** What a rule can look at in one tool call. */
export interface ToolCall {
  toolName: string;
  command?: string | undefined;
  /** The parsed Bash command line; without it, command globs see only the raw text. */
  bash?: BashAnalysis | undefined;
  filePath?: string | undefined;
  cwd?: string | undefined;
}

export class HookRulesError extends Error {
  override name = 'HookRulesError';
}

export async function loadHookRules(path: string): Promise<HookRulesFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new HookRulesError(`cannot read the rules file ${path}: ${code}`);
  }
  return parseHookRules(text, path);
}

export function parseHookRules(text: string, source: string): HookRulesFile {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new HookRulesError(
      `${source} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = rulesFileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HookRulesError(
      `${source}: ${issue?.path.join('.') || 'the file'} ${issue?.message ?? 'is invalid'}`,
    );
  }
  return parsed.data;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.+()[\]{}|]/g, '\\$&');
}

/** A glob as an anchored regular expression; in path mode `*` and `?` stop at `/`. */
export function globToRegExp(glob: string, mode: 'text' | 'path'): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      // "dir/**/x" also matches "dir/x"
      if (glob[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (c === '*') source += mode === 'path' ? '[^/]*' : '.*';
    else if (c === '?') source += mode === 'path' ? '[^/]' : '.';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`, 's');
}

export function matchesToolName(pattern: string, toolName: string): boolean {
  return pattern.split('|').some((alternative) => globToRegExp(alternative.trim(), 'text').test(toolName));
}

/** The path as rules see it: relative to cwd when inside it, with `/` separators. */
export function rulePath(filePath: string, cwd: string | undefined): string {
  let path = filePath;
  if (cwd && isAbsolute(path)) {
    const inside = relative(cwd, path);
    if (inside && !inside.startsWith('..') && !isAbsolute(inside)) path = inside;
  }
  return path.split(sep).join('/');
}

/** The command as globs see it: its words joined by spaces, and again with the program's basename. */
function commandLines(command: BashCommand): string[] {
  const [name = '', ...args] = command.words;
  const lines = [command.words.join(' ')];
  if (name.includes('/')) lines.push([basename(name), ...args].join(' '));
  return lines;
}

/** True when one of the commands the line runs (or may run) matches the glob. */
function commandMatches(glob: string, call: ToolCall): boolean {
  if (call.command === undefined) return false;
  const pattern = globToRegExp(glob, 'text');
  if (pattern.test(call.command.trim())) return true;
  if (!call.bash) return false;
  if (call.bash.unresolved.length > 0) return true;
  // An argument known only at run time could be anything: the program name decides.
  const program = globToRegExp(glob.split(' ')[0] ?? glob, 'text');
  return call.bash.commands.some((command) =>
    commandLines(command).some(
      (line) => pattern.test(line) || (command.dynamicArgs && program.test(line.split(' ')[0] ?? '')),
    ),
  );
}

/** The first rule that matches the call, or undefined: the call needs no approval. */
export function matchRule(rules: readonly HookRule[], call: ToolCall): HookRule | undefined {
  return rules.find((rule) => {
    if (!matchesToolName(rule.tool, call.toolName)) return false;
    if (rule.command !== undefined && !commandMatches(rule.command, call)) return false;
    if (rule.path !== undefined) {
      if (call.filePath === undefined) return false;
      if (!globToRegExp(rule.path, 'path').test(rulePath(call.filePath, call.cwd))) return false;
    }
    return true;
  });
}

export type HookDecision = { ask: false } | { ask: true; action: string; why: string };

/**
 * What the hook does with a call: ask under the first matching rule's action; with `default: ask`,
 * ask under `defaultAction` for any Bash line whose every command an `allow:` glob does not name
 * (a line that cannot be resolved, or whose commands run others, is never allowed); else pass.
 */
export function decideToolCall(file: HookRulesFile, call: ToolCall): HookDecision {
  const rule = matchRule(file.rules, call);
  if (rule) {
    const unresolved = call.bash?.unresolved ?? [];
    const why =
      unresolved.length > 0 ? `not statically resolvable: ${unresolved.join('; ')}` : `rule ${rule.action}`;
    return { ask: true, action: rule.action, why };
  }
  if (call.toolName !== 'Bash' || file.default !== 'ask' || call.command === undefined) return { ask: false };
  const bash = call.bash;
  if (!bash) return { ask: true, action: file.defaultAction, why: 'the command was not parsed' };
  if (bash.unresolved.length > 0) {
    return {
      ask: true,
      action: file.defaultAction,
      why: `not statically resolvable: ${bash.unresolved.join('; ')}`,
    };
  }
  const allows = file.allow.map((glob) => globToRegExp(glob, 'text'));
  const unnamed = bash.commands.find(
    (command) =>
      command.runsOthers ||
      command.dynamicArgs ||
      !commandLines(command).some((line) => allows.some((allow) => allow.test(line))),
  );
  return unnamed
    ? { ask: true, action: file.defaultAction, why: `no allow: rule names ${unnamed.words.join(' ')}` }
    : { ask: false };
}
