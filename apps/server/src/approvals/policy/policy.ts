// The compiled policy: rules with groups expanded and defaults applied, and the lookups the
// domain needs. Rules are matched in file order; the first rule whose action glob matches wins.
import type { PolicyFile } from './policy-schema.ts';

export const DEFAULT_QUORUM = 1;
export const DEFAULT_DENY_QUORUM = 1;
export const DEFAULT_EXPIRES_IN_SECONDS = 3600;

export interface PolicyRule {
  name: string;
  actions: string[];
  /** Lower-cased emails allowed to decide; null means anyone but the requester (built-in default only). */
  approvers: string[] | null;
  quorum: number;
  denyQuorum: number;
  expiresInSeconds: number;
  /** Channels a request may target; the first is the default. Empty means "from the request". */
  channels: string[];
  sensitive: string[];
  autoApprove: boolean;
  denyReasonRequired: boolean;
}

export interface Policy {
  /** Where the policy came from, for logs and errors: a file path or "built-in default". */
  source: string;
  /** `sha256:` + hex of the file's bytes, when loaded from a file. */
  digest?: string;
  rules: PolicyRule[];
  groups: Record<string, string[]>;
  agentOwners: Record<string, string>;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

export function matchRule(policy: Policy, action: string): PolicyRule | undefined {
  return policy.rules.find((rule) => rule.actions.some((glob) => globToRegExp(glob).test(action)));
}

/** The built-in policy when no file is configured (spec §4). */
export const BUILT_IN_POLICY: Policy = {
  source: 'built-in default',
  groups: {},
  agentOwners: {},
  rules: [
    {
      name: 'default',
      actions: ['*'],
      approvers: null,
      quorum: DEFAULT_QUORUM,
      denyQuorum: DEFAULT_DENY_QUORUM,
      expiresInSeconds: DEFAULT_EXPIRES_IN_SECONDS,
      channels: [],
      sensitive: [],
      autoApprove: false,
      denyReasonRequired: false,
    },
  ],
};

export class PolicyCompileError extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
    /** Every problem found, this one first: the file is checked to the end, not to the first. */
    readonly all: { path: (string | number)[]; message: string }[] = [{ path, message }],
  ) {
    super(message);
    this.name = 'PolicyCompileError';
  }
}

/**
 * Rules that can never match: each of their action globs is covered by an earlier rule's glob
 * (first match wins). A glob covers another when it matches it read literally, `*` included.
 */
export function shadowedRules(policy: Pick<Policy, 'rules'>): { rule: string; index: number; by: string }[] {
  const found: { rule: string; index: number; by: string }[] = [];
  policy.rules.forEach((rule, index) => {
    const earlier = policy.rules.slice(0, index);
    const coveredBy = rule.actions.map((glob) =>
      earlier.find((e) => e.actions.some((g) => globToRegExp(g).test(glob))),
    );
    if (coveredBy.every(Boolean)) {
      const names = [...new Set(coveredBy.map((r) => r?.name))].join('", "');
      found.push({ rule: rule.name, index, by: names });
    }
  });
  return found;
}

/** Expands groups and applies defaults; refuses rules that could never be decided. */
export function compilePolicy(file: PolicyFile, source: string): Policy {
  const groups = file.groups ?? {};
  const expand = (refs: string[], path: (string | number)[]): string[] => {
    const emails = refs.flatMap((ref, index) => {
      if (!ref.startsWith('group:')) return [ref];
      const members = groups[ref.slice('group:'.length)];
      if (!members) throw new PolicyCompileError([...path, index], `unknown group "${ref.slice(6)}"`);
      return members;
    });
    return [...new Set(emails)];
  };
  const defaults = file.defaults ?? {};
  const problems: { path: (string | number)[]; message: string }[] = [];
  const collect = <T>(work: () => T): T | undefined => {
    try {
      return work();
    } catch (error) {
      if (!(error instanceof PolicyCompileError)) throw error;
      problems.push(...error.all);
      return undefined;
    }
  };
  const compiled = file.rules.map((rule, index) => collect(() => compileRule(rule, index)));
  function compileRule(rule: (typeof file.rules)[number], index: number): PolicyRule {
    const path = ['rules', index];
    const refs = rule.approvers ?? defaults.approvers;
    const autoApprove = rule.autoApprove ?? false;
    if (!refs && !autoApprove) {
      throw new PolicyCompileError(
        [...path, 'approvers'],
        `rule "${rule.name}" needs approvers (or autoApprove: true)`,
      );
    }
    const approvers = refs
      ? expand(refs, rule.approvers ? [...path, 'approvers'] : ['defaults', 'approvers'])
      : [];
    const quorum = rule.quorum ?? defaults.quorum ?? DEFAULT_QUORUM;
    if (!autoApprove && quorum > approvers.length) {
      throw new PolicyCompileError(
        [...path, 'quorum'],
        `rule "${rule.name}" needs ${quorum} approvals but names only ${approvers.length} approver(s)`,
      );
    }
    const channels =
      rule.channels ?? (rule.channel ? [rule.channel] : defaults.channel ? [defaults.channel] : []);
    return {
      name: rule.name,
      actions: rule.actions,
      approvers,
      quorum,
      denyQuorum: rule.denyQuorum ?? defaults.denyQuorum ?? DEFAULT_DENY_QUORUM,
      expiresInSeconds: rule.expiresIn ?? defaults.expiresIn ?? DEFAULT_EXPIRES_IN_SECONDS,
      channels:
        rule.channels && rule.channel
          ? [rule.channel, ...rule.channels.filter((c) => c !== rule.channel)]
          : channels,
      sensitive: rule.sensitive ?? [],
      autoApprove,
      denyReasonRequired: rule.denyReason === 'required',
    };
  }
  const names = new Set<string>();
  file.rules.forEach((rule, index) => {
    if (names.has(rule.name)) {
      problems.push({ path: ['rules', index, 'name'], message: `duplicate rule name "${rule.name}"` });
    }
    names.add(rule.name);
  });
  const first = problems[0];
  if (first) throw new PolicyCompileError(first.path, first.message, problems);
  const rules = compiled.filter((r): r is PolicyRule => r !== undefined);
  const agentOwners = Object.fromEntries(
    Object.entries(file.agents ?? {}).map(([name, a]) => [name, a.owner]),
  );
  return { source, rules, groups, agentOwners };
}
