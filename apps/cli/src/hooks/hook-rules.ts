// The rules file of `countersign hook`: which tool calls need an approval, and under which action.
// Globs are our own small dialect, matched against the whole value: `*` any run of characters (in
// paths: except `/`), `**` any run including `/`, `?` one character; tool names take `A|B` too.
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const ruleSchema = z.strictObject({
  tool: z.string().min(1).describe('tool name, exact or glob; "Edit|Write" for either'),
  command: z.string().min(1).optional().describe('Bash only: glob on the whole command line'),
  path: z.string().min(1).optional().describe('file tools: glob on the file path (relative to cwd)'),
  action: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dotted name like "db.query"'),
});

const rulesFileSchema = z.strictObject({ rules: z.array(ruleSchema) });

export type HookRule = z.infer<typeof ruleSchema>;

/** What a rule can look at in one tool call. */
export interface ToolCall {
  toolName: string;
  command?: string | undefined;
  filePath?: string | undefined;
  cwd?: string | undefined;
}

export class HookRulesError extends Error {
  override name = 'HookRulesError';
}

export async function loadHookRules(path: string): Promise<HookRule[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new HookRulesError(`cannot read the rules file ${path}: ${code}`);
  }
  return parseHookRules(text, path);
}

export function parseHookRules(text: string, source: string): HookRule[] {
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
  return parsed.data.rules;
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

/** The first rule that matches the call, or undefined: the call needs no approval. */
export function matchRule(rules: readonly HookRule[], call: ToolCall): HookRule | undefined {
  return rules.find((rule) => {
    if (!matchesToolName(rule.tool, call.toolName)) return false;
    if (rule.command !== undefined) {
      if (call.command === undefined || !globToRegExp(rule.command, 'text').test(call.command.trim()))
        return false;
    }
    if (rule.path !== undefined) {
      if (call.filePath === undefined) return false;
      if (!globToRegExp(rule.path, 'path').test(rulePath(call.filePath, call.cwd))) return false;
    }
    return true;
  });
}
