// The compiled policy: rules with groups expanded and defaults applied, and the lookups the
// domain needs. Rules are matched in file order; the first rule whose action glob matches, and
// whose `when:` and `keys:` (if any) the request meets, wins.
import type { MaskPreset } from '../pii-masking.ts';
import type { PolicyFile } from './policy-schema.ts';
import { conditionHolds, type Condition, type RuleSubject } from './rule-conditions.ts';
import { compileIdentityIssuers, type IdentityIssuer } from '../../identity/identity-issuers.ts';

export const DEFAULT_QUORUM = 1;
export const DEFAULT_DENY_QUORUM = 1;
export const DEFAULT_EXPIRES_IN_SECONDS = 3600;

export interface PolicyRule {
  name: string;
  actions: string[];
  /** Lower-cased emails allowed to decide; null means anyone but the requester (built-in default only). */
  approvers: string[] | null;
  /** The policy groups (`group:<name>`) the approvers were expanded from, by name; absent: none. */
  approverGroups?: string[];
  quorum: number;
  denyQuorum: number;
  expiresInSeconds: number;
  /** Channels a request may target. Empty means "from the request". */
  channels: string[];
  /** Where a request that names no channel is posted (each of them). */
  defaultChannels: string[];
  sensitive: string[];
  /** Masking presets (`mask: [pii]`), the rule's own or the policy defaults'. */
  mask: MaskPreset[];
  maskRequesterName: boolean;
  autoApprove: boolean;
  denyReasonRequired: boolean;
  /** `grant: { upTo }`: the longest window an approver may grant, in seconds; null = calls only. */
  grantUpToSeconds: number | null;
  /** The rule applies only when this holds (`when:`). */
  when: Condition | null;
  /** The rule applies only to requests made with these API keys (`keys:`). */
  keys: string[] | null;
  /** `deny: true`: matching requests are refused with this reason. */
  refusal: string | null;
  /** `requester: proven`: a claimed requester is refused. */
  requireProvenRequester: boolean;
  /** `remind:`, `escalate:`, `notifyRequester:`; absent: no nudges, the requester is told. */
  followUp?: FollowUpRule;
  /** `breakGlass:` with `allowed: true`; null when the rule does not allow it. */
  breakGlass?: BreakGlassRule | null;
  /** `secrets:`: names of policy secrets an approved execution may receive; absent = none. */
  secrets?: string[];
}

/** What happens while a request waits and once it is decided (approvals/follow-up/). */
export interface FollowUpRule {
  /** Seconds after creation at which undecided approvers are reminded, ascending. */
  remindSeconds: number[];
  escalate: {
    afterSeconds: number;
    /** Lower-cased emails (groups expanded) added to the eligible set. */
    approvers: string[];
    /** Where the second card goes; null: none. */
    channel: string | null;
  } | null;
  notifyRequester: boolean;
}

export interface BreakGlassRule {
  reviewWithinSeconds: number;
  /** Lower-cased emails (groups expanded) and idp:<group> references. */
  reviewers: string[];
  /** Uses per requester, and per API key, in any 24 hours; null = no budget. */
  maxPerDay: number | null;
}

export interface Policy {
  /** Where the policy came from, for logs and errors: a file path or "built-in default". */
  source: string;
  /** `sha256:` + hex of the file's bytes, when loaded from a file. */
  digest?: string;
  /** The stored version in force (policy-versions.ts); absent for a policy not from the database. */
  version?: number;
  rules: PolicyRule[];
  groups: Record<string, string[]>;
  /** Lower-cased agent name → owner email. A Map, so names like "constructor" are just names. */
  agentOwners: ReadonlyMap<string, string>;
  /** `console.requests: everyone`: every signed-in console user sees every request. */
  consoleOpenToAll?: boolean;
  /** Issuers whose workload identity tokens are trusted (policy `identity.issuers`); none when unset. */
  identityIssuers?: readonly IdentityIssuer[];
  /** Secret name → its reference (`env:NAME`, `file:/path`), never its value. */
  secrets?: ReadonlyMap<string, string>;
}

/** The owner of an agent, whatever the case of its name; null when the policy names none. */
export function agentOwnerOf(policy: Policy, agentName: string): string | null {
  return policy.agentOwners.get(agentName.toLowerCase()) ?? null;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function asList(channel: string | string[] | undefined): string[] {
  return channel === undefined ? [] : Array.isArray(channel) ? channel : [channel];
}

/** True when one of the action globs (`*` matches any characters) matches the action. */
export function actionMatches(globs: readonly string[], action: string): boolean {
  return globs.some((glob) => globToRegExp(glob).test(action));
}

/** The rule that governs the request: the first whose actions, `keys:` and `when:` all match it. */
export function matchRule(policy: Policy, request: RuleSubject): PolicyRule | undefined {
  return policy.rules.find(
    (rule) =>
      rule.actions.some((glob) => globToRegExp(glob).test(request.action)) &&
      (rule.keys === null || (request.keyName !== undefined && rule.keys.includes(request.keyName))) &&
      (rule.when === null || conditionHolds(rule.when, request)),
  );
}

/** The built-in policy when no file is configured (spec §4). */
export const BUILT_IN_POLICY: Policy = {
  source: 'built-in default',
  groups: {},
  agentOwners: new Map(),
  rules: [
    {
      name: 'default',
      actions: ['*'],
      approvers: null,
      quorum: DEFAULT_QUORUM,
      denyQuorum: DEFAULT_DENY_QUORUM,
      expiresInSeconds: DEFAULT_EXPIRES_IN_SECONDS,
      channels: [],
      defaultChannels: [],
      sensitive: [],
      mask: [],
      maskRequesterName: false,
      autoApprove: false,
      denyReasonRequired: false,
      grantUpToSeconds: null,
      when: null,
      keys: null,
      refusal: null,
      requireProvenRequester: false,
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
    // Only a rule that applies to every request of its actions can hide later ones.
    const earlier = policy.rules.slice(0, index).filter((e) => !e.when && !e.keys);
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
      const name = ref.slice('group:'.length);
      const members = Object.hasOwn(groups, name) ? groups[name] : undefined;
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
    const refusal = checkContentRule(rule, path);
    const expiresIn = rule.expiresIn ?? defaults.expiresIn ?? DEFAULT_EXPIRES_IN_SECONDS;
    const followUp = compileFollowUp(rule, path, expiresIn, expand);
    if (refusal !== null) return { ...deciding(rule, [], DEFAULT_QUORUM), refusal };
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
    // An identity provider group's size is only known at decision time.
    const fromIdp = approvers.some((a) => a.startsWith('idp:'));
    if (!autoApprove && !fromIdp && quorum > approvers.length) {
      throw new PolicyCompileError(
        [...path, 'quorum'],
        `rule "${rule.name}" needs ${quorum} approvals but names only ${approvers.length} approver(s)`,
      );
    }
    const breakGlass =
      rule.breakGlass?.allowed === true
        ? {
            reviewWithinSeconds: rule.breakGlass.reviewWithin,
            reviewers: expand(rule.breakGlass.reviewers, [...path, 'breakGlass', 'reviewers']),
            maxPerDay: rule.breakGlass.maxPerDay ?? null,
          }
        : null;
    if (breakGlass && autoApprove) {
      throw new PolicyCompileError(
        [...path, 'breakGlass'],
        `rule "${rule.name}" approves automatically: break-glass has nothing to skip`,
      );
    }
    const secrets = rule.secrets ?? [];
    const declared = file.secrets ?? {};
    const unknownSecret = secrets.findIndex((name) => !Object.hasOwn(declared, name));
    if (unknownSecret >= 0) {
      throw new PolicyCompileError(
        [...path, 'secrets', unknownSecret],
        `secret "${secrets[unknownSecret] ?? ''}" is not declared under the top-level secrets`,
      );
    }
    const approverGroups = (refs ?? []).filter((r) => r.startsWith('group:')).map((r) => r.slice(6));
    return {
      ...deciding(rule, approvers, quorum),
      ...(approverGroups.length > 0 ? { approverGroups: [...new Set(approverGroups)] } : {}),
      ...(followUp ? { followUp } : {}),
      ...(breakGlass ? { breakGlass } : {}),
      ...(secrets.length > 0 ? { secrets: [...new Set(secrets)] } : {}),
    };
  }
  function deciding(rule: (typeof file.rules)[number], approvers: string[], quorum: number): PolicyRule {
    const autoApprove = rule.autoApprove ?? false;
    const listed = asList(rule.channel);
    const fallback = asList(defaults.channel);
    const defaultChannels = listed.length > 0 ? listed : rule.channels ? rule.channels.slice(0, 1) : fallback;
    const allowed = rule.channels ? [...new Set([...listed, ...rule.channels])] : defaultChannels;
    return {
      name: rule.name,
      actions: rule.actions,
      approvers,
      quorum,
      denyQuorum: rule.denyQuorum ?? defaults.denyQuorum ?? DEFAULT_DENY_QUORUM,
      expiresInSeconds: rule.expiresIn ?? defaults.expiresIn ?? DEFAULT_EXPIRES_IN_SECONDS,
      channels: allowed,
      defaultChannels,
      sensitive: rule.sensitive ?? [],
      mask: rule.mask ?? defaults.mask ?? [],
      maskRequesterName: rule.maskRequesterName ?? false,
      autoApprove,
      denyReasonRequired: rule.denyReason === 'required',
      grantUpToSeconds: rule.grant?.upTo ?? null,
      when: rule.when ?? null,
      keys: rule.keys ?? null,
      refusal: null,
      requireProvenRequester: rule.requester === 'proven',
    };
  }
  const names = new Set<string>();
  file.rules.forEach((rule, index) => {
    if (names.has(rule.name)) {
      problems.push({ path: ['rules', index, 'name'], message: `duplicate rule name "${rule.name}"` });
    }
    names.add(rule.name);
  });
  const { issuers: identityIssuers, problems: identityProblems } = compileIdentityIssuers(file.identity);
  problems.push(...identityProblems);
  const first = problems[0];
  if (first) throw new PolicyCompileError(first.path, first.message, problems);
  const rules = compiled.filter((r): r is PolicyRule => r !== undefined);
  // Agent names compare case-insensitively: "Deploy-Bot" is the agent the policy calls "deploy-bot".
  const agentOwners = new Map<string, string>();
  for (const [name, agent] of Object.entries(file.agents ?? {})) {
    const key = name.toLowerCase();
    const earlier = agentOwners.get(key);
    if (earlier !== undefined && earlier !== agent.owner) {
      throw new PolicyCompileError(
        ['agents', name],
        `agent "${name}" is listed twice (names compare case-insensitively) with different owners`,
      );
    }
    agentOwners.set(key, agent.owner);
  }
  return {
    source,
    rules,
    groups,
    agentOwners,
    ...(file.console?.requests === 'everyone' ? { consoleOpenToAll: true } : {}),
    ...(identityIssuers.length > 0 ? { identityIssuers } : {}),
    ...(file.secrets ? { secrets: new Map(Object.entries(file.secrets)) } : {}),
  };
}

/**
 * `remind:`, `escalate:` and `notifyRequester:`, checked against the rule's expiry: a nudge planned
 * for after the request has expired could never happen, so it is refused rather than ignored.
 */
function compileFollowUp(
  rule: PolicyFile['rules'][number],
  path: (string | number)[],
  expiresIn: number,
  expand: (refs: string[], path: (string | number)[]) => string[],
): FollowUpRule | undefined {
  if (rule.remind === undefined && rule.escalate === undefined && rule.notifyRequester === undefined)
    return undefined;
  const nudges = rule.remind !== undefined || rule.escalate !== undefined;
  if (nudges && (rule.autoApprove === true || rule.deny === true)) {
    throw new PolicyCompileError(
      [...path, rule.remind !== undefined ? 'remind' : 'escalate'],
      `rule "${rule.name}" decides at once (${rule.deny === true ? 'deny' : 'autoApprove'}): there is nobody to remind or escalate to`,
    );
  }
  const remindSeconds = rule.remind ?? [];
  remindSeconds.forEach((seconds, index) => {
    const earlier = remindSeconds[index - 1];
    if (earlier !== undefined && seconds <= earlier) {
      throw new PolicyCompileError(
        [...path, 'remind', index],
        `reminders must be in ascending order: ${seconds}s is not after ${earlier}s`,
      );
    }
    if (seconds >= expiresIn) {
      throw new PolicyCompileError(
        [...path, 'remind', index],
        `a reminder at ${seconds}s comes after the request expires (expiresIn ${expiresIn}s)`,
      );
    }
  });
  let escalate: FollowUpRule['escalate'] = null;
  if (rule.escalate) {
    if (rule.escalate.after >= expiresIn) {
      throw new PolicyCompileError(
        [...path, 'escalate', 'after'],
        `escalation at ${rule.escalate.after}s comes after the request expires (expiresIn ${expiresIn}s)`,
      );
    }
    escalate = {
      afterSeconds: rule.escalate.after,
      approvers: expand(rule.escalate.approvers, [...path, 'escalate', 'approvers']),
      channel: rule.escalate.channel ?? null,
    };
  }
  return { remindSeconds, escalate, notifyRequester: rule.notifyRequester ?? true };
}

/**
 * The checks on `when:`, `keys:`, `deny:` and `reason:` that the schema alone cannot make; returns
 * the refusal reason of a deny rule, else null.
 */
function checkContentRule(rule: PolicyFile['rules'][number], path: (string | number)[]): string | null {
  if (rule.deny === true) {
    if (rule.reason === undefined) {
      throw new PolicyCompileError(
        [...path, 'deny'],
        `deny rule "${rule.name}" needs a reason: (shown to the caller)`,
      );
    }
    if (rule.autoApprove === true) {
      throw new PolicyCompileError(
        [...path, 'autoApprove'],
        `rule "${rule.name}" cannot both deny and autoApprove`,
      );
    }
    return rule.reason;
  }
  if (rule.reason !== undefined) {
    throw new PolicyCompileError(
      [...path, 'reason'],
      `reason: is what a deny rule tells the caller; rule "${rule.name}" has no deny: true`,
    );
  }
  if (rule.autoApprove === true && rule.when === undefined && rule.keys === undefined) {
    throw new PolicyCompileError(
      [...path, 'autoApprove'],
      `autoApprove rule "${rule.name}" needs a when: condition or keys: [...]: the action name alone is the caller's choice`,
    );
  }
  return null;
}
