// Resolves what governs one request: the matching rule, narrowed by the request. A request may
// narrow the approvers, raise the quorum, shorten the expiry or pick one of the rule's channels;
// any attempt to widen is refused with the field that tried (spec §3.3).
import { AppError, type FieldError } from '../../errors.ts';
import {
  agentOwnerOf,
  matchRule,
  type BreakGlassRule,
  type FollowUpRule,
  type Policy,
  type PolicyRule,
} from './policy.ts';

export interface RequestedRules {
  action: string;
  requesterEmail: string;
  requesterName?: string | undefined;
  agentName?: string | undefined;
  /** What `when:` conditions look at besides the fields above. */
  agent?: { name: string; model?: string | undefined; runId?: string | undefined } | undefined;
  context?: Record<string, unknown> | undefined;
  /** The name of the API key that asked, for rules with `keys:`. */
  keyName?: string | undefined;
  approvers?: string[] | undefined;
  quorum?: number | undefined;
  expiresIn?: number | undefined;
  /** One channel or several; each must be one the rule allows. */
  channel?: string | string[] | undefined;
  sensitive?: string[] | undefined;
}

export interface ResolvedRules {
  policyRule: string;
  /** Lower-cased emails allowed to decide; ignored when anyApprover is true. */
  approvers: string[];
  /**
   * The policy groups the rule's approvers came from, name → lower-cased members: a decision
   * records the group that made its approver eligible. Empty when the rule names no group.
   */
  approverGroups: Record<string, string[]>;
  anyApprover: boolean;
  agentOwner: string | null;
  quorum: number;
  denyQuorum: number;
  expiresInSeconds: number;
  /** The first of `channels`, or null. */
  channel: string | null;
  /** Every channel the request is posted to (may be empty: API only). */
  channels: string[];
  sensitive: string[];
  /** Personal data masked too (the rule's `mask: [pii]`). */
  maskPersonalData: boolean;
  maskRequesterName: boolean;
  autoApprove: boolean;
  denyReasonRequired: boolean;
  /** The longest grant an approver may choose (`grant: { upTo }`), in seconds; null = none. */
  grantUpToSeconds: number | null;
  /** The rule refuses claimed requesters. */
  requireProvenRequester: boolean;
  /** Reminders, escalation and the requester's notice, when the rule sets any (a request cannot). */
  followUp?: FollowUpRule;
  /** What the rule's `breakGlass:` allows; absent when it does not. */
  breakGlass?: BreakGlassRule;
}

function approverGroupsOf(policy: Policy, rule: PolicyRule): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const name of rule.approverGroups ?? []) {
    const members = Object.hasOwn(policy.groups, name) ? policy.groups[name] : undefined;
    if (members) groups[name] = members.map((m) => m.toLowerCase());
  }
  return groups;
}

export function applyPolicy(policy: Policy, requested: RequestedRules): ResolvedRules {
  const rule = matchRule(policy, {
    action: requested.action,
    requester: { email: requested.requesterEmail, name: requested.requesterName },
    agent: requested.agent ?? (requested.agentName ? { name: requested.agentName } : undefined),
    context: requested.context,
    keyName: requested.keyName,
  });
  if (!rule) {
    throw new AppError('NO_MATCHING_RULE', {
      detail: `no policy rule matches action "${requested.action}" and the policy has no catch-all rule`,
      errors: [{ pointer: '/action', message: 'matches no policy rule' }],
    });
  }
  if (rule.refusal !== null) {
    throw new AppError('POLICY_DENIED', { detail: `denied by policy rule "${rule.name}": ${rule.refusal}` });
  }
  const problems: FieldError[] = [];
  const refuse = (pointer: string, message: string) => problems.push({ pointer, message });

  const requestedApprovers = requested.approvers
    ? [...new Set(requested.approvers.map((a) => a.toLowerCase()))]
    : undefined;
  if (requestedApprovers && rule.approvers) {
    const allowed = new Set(rule.approvers);
    requested.approvers?.forEach((email, index) => {
      if (!allowed.has(email.toLowerCase())) {
        refuse(`/approvers/${index}`, `${email} is not an approver rule "${rule.name}" allows`);
      }
    });
  }
  if (requested.quorum !== undefined && requested.quorum < rule.quorum) {
    refuse('/quorum', `rule "${rule.name}" requires a quorum of at least ${rule.quorum}`);
  }
  if (requested.expiresIn !== undefined && requested.expiresIn > rule.expiresInSeconds) {
    refuse('/expiresIn', `rule "${rule.name}" allows at most ${rule.expiresInSeconds} seconds`);
  }
  const requestedChannels =
    requested.channel === undefined
      ? undefined
      : Array.isArray(requested.channel)
        ? requested.channel
        : [requested.channel];
  if (requestedChannels && rule.channels.length > 0) {
    requestedChannels.forEach((channel, index) => {
      if (!rule.channels.includes(channel)) {
        refuse(
          Array.isArray(requested.channel) ? `/channel/${index}` : '/channel',
          `rule "${rule.name}" allows only ${rule.channels.join(', ')}`,
        );
      }
    });
  }

  const anyApprover = rule.approvers === null && !requestedApprovers;
  const approvers = requestedApprovers ?? rule.approvers ?? [];
  const quorum = requested.quorum ?? rule.quorum;
  const agentOwner = requested.agentName ? agentOwnerOf(policy, requested.agentName) : null;
  const fromIdp = approvers.some((a) => a.startsWith('idp:'));
  if (!rule.autoApprove && !anyApprover && !fromIdp && problems.length === 0) {
    // People who can never decide this request do not count towards what it needs.
    const excluded = new Set([requested.requesterEmail.toLowerCase(), ...(agentOwner ? [agentOwner] : [])]);
    const eligible = approvers.filter((email) => !excluded.has(email)).length;
    if (eligible < quorum) {
      refuse(
        requested.quorum !== undefined ? '/quorum' : '/approvers',
        `needs ${quorum} approval(s) but only ${eligible} eligible approver(s) remain once the requester and the agent's owner are excluded`,
      );
    }
  }
  if (problems.length > 0) {
    throw new AppError('POLICY_VIOLATION', {
      detail: `the request widens what policy rule "${rule.name}" allows: ${problems.map((p) => `${p.pointer} ${p.message}`).join('; ')}`,
      errors: problems,
    });
  }
  return {
    policyRule: rule.name,
    approvers: anyApprover ? [] : approvers,
    approverGroups: approverGroupsOf(policy, rule),
    anyApprover,
    agentOwner,
    quorum,
    denyQuorum: rule.denyQuorum,
    expiresInSeconds: requested.expiresIn ?? rule.expiresInSeconds,
    channel: (requestedChannels ?? rule.defaultChannels)[0] ?? null,
    channels: [...new Set(requestedChannels ?? rule.defaultChannels)],
    sensitive: [...new Set([...rule.sensitive, ...(requested.sensitive ?? [])])],
    maskPersonalData: rule.mask.includes('pii'),
    maskRequesterName: rule.maskRequesterName,
    autoApprove: rule.autoApprove,
    denyReasonRequired: rule.denyReasonRequired,
    grantUpToSeconds: rule.grantUpToSeconds,
    requireProvenRequester: rule.requireProvenRequester,
    ...(rule.followUp ? { followUp: rule.followUp } : {}),
    ...(rule.breakGlass ? { breakGlass: rule.breakGlass } : {}),
  };
}
