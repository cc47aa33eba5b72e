// Reads and validates a policy file. Every problem names the line, column and field, so an
// operator can fix the file without guessing.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { BUILT_IN_POLICY, compilePolicy, PolicyCompileError, type Policy } from './policy.ts';
import type { z } from 'zod';
import { policySchema } from './policy-schema.ts';

export interface PolicyProblem {
  line: number;
  column: number;
  field: string;
  message: string;
}

export class PolicyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: PolicyProblem[],
  ) {
    super(
      `${source}: invalid policy\n${problems.map((p) => `  line ${p.line}, column ${p.column}: ${p.field}: ${p.message}`).join('\n')}`,
    );
    this.name = 'PolicyError';
  }
}

export function fieldName(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>(
      (name, key) =>
        typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key),
      '',
    ) || '(root)'
  );
}

/** The position of the deepest node along the path that exists in the document. */
export function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
): { line: number; column: number } {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) {
      const pos = lines.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

/** The position of an unknown field's key (its value may start on a later line, or be empty). */
function locateKey(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
): { line: number; column: number } {
  const key = path[path.length - 1];
  const parentPath = path.slice(0, -1);
  const parent: unknown = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath as unknown[], true);
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
    if (pair && isNode(pair.key) && pair.key.range) {
      const pos = lines.linePos(pair.key.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return locate(doc, lines, path);
}

export function schemaProblems(
  doc: Document,
  lines: LineCounter,
  issues: readonly z.core.$ZodIssue[],
): PolicyProblem[] {
  return issues.flatMap((issue) => {
    const paths =
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    return paths.map((path) => ({
      ...(issue.code === 'unrecognized_keys' ? locateKey(doc, lines, path) : locate(doc, lines, path)),
      field: fieldName(path),
      message: issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message,
    }));
  });
}

/** The YAML parser's own errors (syntax, duplicate keys where refused), each at its line. */
export function syntaxProblems(doc: Document, lines: LineCounter): PolicyProblem[] {
  return doc.errors.map((error) => {
    const pos = lines.linePos(error.pos[0]);
    return {
      line: pos.line,
      column: pos.col,
      field: '(yaml)',
      message: error.message.split('\n')[0] ?? error.message,
    };
  });
}

export function parsePolicy(text: string, source: string): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const yamlProblems = syntaxProblems(doc, lines);
  if (yamlProblems.length > 0) {
    // The rest of the document is still checked, so one run shows every kind of problem.
    let rest: PolicyProblem[] = [];
    try {
      rest = schemaProblems(doc, lines, policySchema.safeParse(doc.toJS() ?? {}).error?.issues ?? []);
    } catch {
      rest = [];
    }
    throw new PolicyError(source, [...yamlProblems, ...rest]);
  }
  const parsed = policySchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw new PolicyError(source, schemaProblems(doc, lines, parsed.error.issues));
  try {
    const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    return { ...compilePolicy(parsed.data, source), digest };
  } catch (error) {
    if (error instanceof PolicyCompileError) {
      throw new PolicyError(
        source,
        error.all.map((p) => ({
          ...locate(doc, lines, p.path),
          field: fieldName(p.path),
          message: p.message,
        })),
      );
    }
    throw error;
  }
}

/** The file's text; a missing or unreadable file is a PolicyError like any other problem. */
export async function readPolicyText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new PolicyError(path, [{ line: 1, column: 1, field: '(file)', message: reason }]);
  }
}

export async function loadPolicyFile(path: string): Promise<Policy> {
  return parsePolicy(await readPolicyText(path), path);
}

/** The configured policy file, or the built-in default when none is configured. */
export async function loadPolicy(path: string | undefined): Promise<Policy> {
  return path ? loadPolicyFile(path) : BUILT_IN_POLICY;
}
