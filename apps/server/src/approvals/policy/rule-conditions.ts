// `when:` conditions on policy rules: what a rule looks at besides the action name. Parsing (with
// precise messages), and a pure evaluation over one request, shared by every door.
import { z } from 'zod';
import { canonicalJson } from '../../audit/canonical-json.ts';

export const CONDITION_OPERATORS = [
  'equals',
  'in',
  'glob',
  'regex',
  'gt',
  'gte',
  'lt',
  'lte',
  'exists',
] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/** What a leaf condition can look at, and the fields of each (context takes a JSON pointer). */
const SUBJECT_FIELDS = {
  requester: ['email', 'name'],
  agent: ['name', 'model', 'runId'],
  key: ['name'],
} as const;
type NamedSubject = keyof typeof SUBJECT_FIELDS;
const SUBJECTS = ['context', ...Object.keys(SUBJECT_FIELDS)] as readonly string[];

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | {
      subject: 'context' | NamedSubject;
      /** For context, the RFC 6901 pointer's reference tokens; otherwise the one field name. */
      path: string[];
      /** The subject as written, for messages: "context /rows", "requester email". */
      label: string;
      test: LeafTest;
    };

type LeafTest =
  | { op: 'equals'; value: unknown }
  | { op: 'in'; values: unknown[] }
  | { op: 'glob' | 'regex'; pattern: RegExp; text: string }
  | { op: 'gt' | 'gte' | 'lt' | 'lte'; bound: number }
  | { op: 'exists'; present: boolean };

/** What one request shows the rules. */
export interface RuleSubject {
  action: string;
  context?: Record<string, unknown> | undefined;
  requester?: { email: string; name?: string | null | undefined } | undefined;
  agent?: { name: string; model?: string | undefined; runId?: string | undefined } | undefined;
  /** The name of the API key that asked. */
  keyName?: string | undefined;
}

/** RFC 6901: "" is the whole document; otherwise "/" then tokens with "~1" for "/" and "~0" for "~". */
export function parsePointer(pointer: string): string[] | string {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return 'must be a JSON pointer starting with "/", such as "/rows"';
  if (/~(?![01])/.test(pointer))
    return 'in a JSON pointer "~" must be followed by 0 or 1 ("~0" is "~", "~1" is "/")';
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value the tokens lead to, or undefined; array steps take decimal indexes only ("-" is past the end). */
export function resolvePointer(document: unknown, tokens: readonly string[]): unknown {
  let current: unknown = document;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object') {
      current = Object.hasOwn(current, token) ? (current as Record<string, unknown>)[token] : undefined;
    } else return undefined;
  }
  return current;
}

/** A glob over a whole string value: `*` any run of characters, `?` one character. */
export function valueGlob(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 's');
}

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([scalar, z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** Checks one operator's operand; returns the test or adds an issue at the operator's key. */
function leafTest(
  op: string,
  operand: unknown,
  ctx: z.RefinementCtx,
  at: PropertyKey[],
): LeafTest | undefined {
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', path: at, message });
    return undefined;
  };
  switch (op) {
    case 'equals':
      return jsonValue.safeParse(operand).success ? { op, value: operand } : fail('must be a JSON value');
    case 'in':
      return Array.isArray(operand) && operand.length > 0 && jsonValue.safeParse(operand).success
        ? { op, values: operand }
        : fail('must be a non-empty list of values');
    case 'glob':
      return typeof operand === 'string'
        ? { op, pattern: valueGlob(operand), text: operand }
        : fail('must be a string');
    case 'regex': {
      if (typeof operand !== 'string') return fail('must be a string');
      try {
        return { op, pattern: new RegExp(operand, 'u'), text: operand };
      } catch (error) {
        return fail(`invalid regular expression: ${(error as Error).message}`);
      }
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return typeof operand === 'number' && Number.isFinite(operand)
        ? { op, bound: operand }
        : fail('must be a number');
    case 'exists':
      return typeof operand === 'boolean' ? { op, present: operand } : fail('must be true or false');
    default:
      return fail(`unknown operator "${op}" (one of ${CONDITION_OPERATORS.join(', ')})`);
  }
}

function leaf(input: Record<string, unknown>, ctx: z.RefinementCtx): Condition | undefined {
  const keys = Object.keys(input);
  const subjects = keys.filter((k) => SUBJECTS.includes(k));
  const operators = keys.filter((k) => !SUBJECTS.includes(k));
  if (subjects.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: subjects[1] !== undefined ? [subjects[1]] : [],
      message: `a condition names exactly one of ${SUBJECTS.join(', ')} (or is all/any/not)`,
    });
    return undefined;
  }
  const subject = subjects[0] as 'context' | NamedSubject;
  if (operators.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: operators[1] !== undefined ? [operators[1]] : [subject],
      message: `a condition has exactly one operator (one of ${CONDITION_OPERATORS.join(', ')})`,
    });
    return undefined;
  }
  const op = operators[0] as string;
  const target = input[subject];
  let path: string[];
  if (subject === 'context') {
    const parsed =
      typeof target === 'string' ? parsePointer(target) : 'must be a JSON pointer such as "/rows"';
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', path: [subject], message: parsed });
      return undefined;
    }
    path = parsed;
  } else {
    const fields: readonly string[] = SUBJECT_FIELDS[subject];
    if (typeof target !== 'string' || !fields.includes(target)) {
      ctx.addIssue({ code: 'custom', path: [subject], message: `must be one of ${fields.join(', ')}` });
      return undefined;
    }
    path = [target];
  }
  const test = leafTest(op, input[op], ctx, [op]);
  return test && { subject, path, label: `${subject} ${String(target)}`, test };
}

/**
 * A condition: `{ all: [...] }`, `{ any: [...] }`, `{ not: ... }`, or a leaf naming one subject
 * (`context: /pointer`, `requester: email|name`, `agent: name|model|runId`, `key: name`) and one
 * operator. A list stands for `all`.
 */
export const conditionSchema: z.ZodType<Condition, unknown> = z.lazy(() =>
  z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).transform((input, ctx): Condition => {
    if (Array.isArray(input)) return { all: parseList(input, ctx, []) };
    const keys = Object.keys(input);
    const combinator = keys.find((k) => k === 'all' || k === 'any' || k === 'not');
    if (combinator === undefined) return leaf(input, ctx) ?? { all: [] };
    if (keys.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [keys.find((k) => k !== combinator) ?? combinator],
        message: `"${combinator}" stands alone: put other conditions inside it`,
      });
      return { all: [] };
    }
    const inner = input[combinator];
    if (combinator === 'not') return { not: parseOne(inner, ctx, ['not']) };
    if (!Array.isArray(inner) || inner.length === 0) {
      ctx.addIssue({ code: 'custom', path: [combinator], message: 'must be a non-empty list of conditions' });
      return { all: [] };
    }
    const list = parseList(inner, ctx, [combinator]);
    return combinator === 'all' ? { all: list } : { any: list };
  }),
);

function parseOne(input: unknown, ctx: z.RefinementCtx, at: PropertyKey[]): Condition {
  const parsed = conditionSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: 'custom', path: [...at, ...issue.path], message: issue.message });
  }
  return { all: [] };
}

function parseList(input: unknown[], ctx: z.RefinementCtx, at: PropertyKey[]): Condition[] {
  return input.map((item, index) => parseOne(item, ctx, [...at, index]));
}

function subjectValue(condition: Extract<Condition, { subject: string }>, request: RuleSubject): unknown {
  const [field] = condition.path;
  switch (condition.subject) {
    case 'context':
      return resolvePointer(request.context ?? {}, condition.path);
    case 'requester':
      return field === 'email'
        ? request.requester?.email.toLowerCase()
        : (request.requester?.name ?? undefined);
    case 'agent':
      return request.agent ? (request.agent as Record<string, unknown>)[field ?? ''] : undefined;
    case 'key':
      return request.keyName;
  }
}

/**
 * Whether the request meets the condition. Pure. A missing value, or one of the wrong type, meets
 * no operator but `exists: false`: a condition never holds by accident.
 */
export function conditionHolds(condition: Condition, request: RuleSubject): boolean {
  if ('all' in condition) return condition.all.every((c) => conditionHolds(c, request));
  if ('any' in condition) return condition.any.some((c) => conditionHolds(c, request));
  if ('not' in condition) return !conditionHolds(condition.not, request);
  const value = subjectValue(condition, request);
  const { test } = condition;
  if (test.op === 'exists') return (value !== undefined) === test.present;
  if (value === undefined) return false;
  switch (test.op) {
    case 'equals':
      return canonicalJson(value) === canonicalJson(test.value);
    case 'in':
      return test.values.some((v) => canonicalJson(v) === canonicalJson(value));
    case 'glob':
    case 'regex':
      return typeof value === 'string' && test.pattern.test(value);
    case 'gt':
      return typeof value === 'number' && value > test.bound;
    case 'gte':
      return typeof value === 'number' && value >= test.bound;
    case 'lt':
      return typeof value === 'number' && value < test.bound;
    case 'lte':
      return typeof value === 'number' && value <= test.bound;
  }
}

/** Every leaf of a condition, for `policy check`. */
export function conditionLeaves(condition: Condition): Extract<Condition, { subject: string }>[] {
  if ('all' in condition) return condition.all.flatMap(conditionLeaves);
  if ('any' in condition) return condition.any.flatMap(conditionLeaves);
  if ('not' in condition) return conditionLeaves(condition.not);
  return [condition];
}

/** The pointer a context leaf was written with. */
export function pointerOf(tokens: readonly string[]): string {
  return tokens.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The rule fields that decide on more than the action name (spread into the rule schema). */
export const contentRuleFields = {
  /** The rule applies only when the request meets this condition. */
  when: conditionSchema.optional(),
  /** The rule applies only to requests made with one of these API keys (by name). */
  keys: z.array(z.string().min(1).max(200)).min(1).optional(),
  /** Requests the rule applies to are refused outright (403 POLICY_DENIED), with `reason`. */
  deny: z.boolean().optional(),
  /** What a refused caller is told. */
  reason: z.string().min(1).max(500).optional(),
};
