// What `countersign policy check` warns about in a valid policy: auto-approval decided on names the
// caller picks, and conditions that name context a sample request never has.
import { z } from 'zod';
import type { Policy, PolicyRule } from './policy.ts';
import {
  conditionLeaves,
  pointerOf,
  resolvePointer,
  type Condition,
  type RuleSubject,
} from './rule-conditions.ts';

export interface PolicyWarning {
  rule: string;
  index: number;
  message: string;
}

/** A condition in words, for listings: `context /rows gt 10000`. */
export function describeCondition(condition: Condition): string {
  if ('all' in condition) return `all(${condition.all.map(describeCondition).join(', ')})`;
  if ('any' in condition) return `any(${condition.any.map(describeCondition).join(', ')})`;
  if ('not' in condition) return `not(${describeCondition(condition.not)})`;
  const { test } = condition;
  const operand = ((): string => {
    switch (test.op) {
      case 'equals':
        return JSON.stringify(test.value);
      case 'in':
        return JSON.stringify(test.values);
      case 'glob':
      case 'regex':
        return JSON.stringify(test.text);
      case 'exists':
        return String(test.present);
      default:
        return String(test.bound);
    }
  })();
  return `${condition.label} ${test.op} ${operand}`;
}

/**
 * Auto-approve rules that decide on nothing the caller cannot simply choose: no `keys:`, and a
 * `when:` that looks only at the action's neighbours requester and agent (claimed by the caller).
 */
export function nameOnlyAutoApprovals(policy: Pick<Policy, 'rules'>): PolicyWarning[] {
  return policy.rules.flatMap((rule, index) => {
    if (!rule.autoApprove || rule.keys) return [];
    const leaves = rule.when ? conditionLeaves(rule.when) : [];
    if (leaves.some((leaf) => leaf.subject === 'context' || leaf.subject === 'key')) return [];
    return [
      {
        rule: rule.name,
        index,
        message:
          `auto-approve rule "${rule.name}" (rules[${index}]) matches on names the caller chooses ` +
          `(the action${leaves.length > 0 ? ', requester or agent' : ''}) alone: add a when: on the context or keys: [...]`,
      },
    ];
  });
}

/** A request body as POST /v1/approvals takes it; only what rules look at is read. */
export const sampleRequestSchema = z.looseObject({
  action: z.string().min(1).optional(),
  requester: z.looseObject({ email: z.string(), name: z.string().optional() }).optional(),
  agent: z
    .looseObject({ name: z.string(), model: z.string().optional(), runId: z.string().optional() })
    .optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});
export type SampleRequest = z.infer<typeof sampleRequestSchema>;

/** Conditions naming a context pointer that the sample request does not have. */
export function sampleWarnings(policy: Pick<Policy, 'rules'>, sample: SampleRequest): PolicyWarning[] {
  return policy.rules.flatMap((rule: PolicyRule, index) => {
    const pointers = rule.when
      ? conditionLeaves(rule.when)
          .filter((leaf) => leaf.subject === 'context')
          .map((leaf) => leaf.path)
      : [];
    const missing = [
      ...new Set(
        pointers.filter((p) => resolvePointer(sample.context ?? {}, p) === undefined).map(pointerOf),
      ),
    ];
    return missing.map((pointer) => ({
      rule: rule.name,
      index,
      message: `rule "${rule.name}" (rules[${index}]) looks at context ${pointer}, which the sample request does not have`,
    }));
  });
}

/** The sample as the rules see it. */
export function sampleSubject(sample: SampleRequest, keyName?: string): RuleSubject | undefined {
  if (sample.action === undefined) return undefined;
  return {
    action: sample.action,
    requester: sample.requester,
    agent: sample.agent,
    context: sample.context,
    keyName,
  };
}
