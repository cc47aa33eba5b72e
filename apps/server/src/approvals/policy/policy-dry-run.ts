// `countersign policy test --request sample.json`: what a request would get under a policy, without
// storing anything — which rule, approvers, quorum, channels, masking, expiry, and for every rule
// whose actions match, whether its `when:` (and `keys:`) held. The same applyPolicy as intake.
import { isAppError } from '../../errors.ts';
import { applyPolicy } from './apply-policy.ts';
import { actionMatches, type Policy } from './policy.ts';
import { conditionHolds } from './rule-conditions.ts';
import { describeCondition, sampleSubject, type SampleRequest } from './policy-warnings.ts';

export interface RuleTried {
  rule: string;
  /** The `when:` condition as written, or null when the rule has none. */
  when: string | null;
  whenHolds: boolean;
  keysHold: boolean;
}

export type DryRunOutcome = 'needs-approval' | 'auto-approved' | 'denied' | 'refused';

export interface DryRun {
  policy: string;
  version: number | null;
  outcome: DryRunOutcome;
  rule: string | null;
  /** Why a request is denied by a rule or refused (no rule, or it widens its rule). */
  detail: string | null;
  approvers: string[] | 'anyone';
  quorum: number | null;
  channels: string[];
  masking: { sensitive: string[]; personalData: boolean; requesterName: boolean };
  expiresInSeconds: number | null;
  tried: RuleTried[];
}

export function dryRunRequest(policy: Policy, sample: SampleRequest, keyName?: string): DryRun {
  const subject = sampleSubject(sample, keyName) ?? { action: '' };
  const tried = policy.rules
    .filter((rule) => actionMatches(rule.actions, subject.action))
    .map((rule) => ({
      rule: rule.name,
      when: rule.when ? describeCondition(rule.when) : null,
      whenHolds: rule.when === null || conditionHolds(rule.when, subject),
      keysHold: rule.keys === null || (keyName !== undefined && rule.keys.includes(keyName)),
    }));
  const base = {
    policy: policy.source,
    version: policy.version ?? null,
    tried,
    approvers: [] as string[],
    quorum: null,
    channels: [] as string[],
    masking: { sensitive: [] as string[], personalData: false, requesterName: false },
    expiresInSeconds: null,
  };
  const request = sample as SampleRequest & Record<string, unknown>;
  try {
    const rules = applyPolicy(policy, {
      action: subject.action,
      requesterEmail: sample.requester?.email ?? 'requester@example.invalid',
      requesterName: sample.requester?.name,
      agentName: sample.agent?.name,
      agent: sample.agent,
      context: sample.context,
      keyName,
      approvers: stringList(request['approvers']),
      quorum: typeof request['quorum'] === 'number' ? request['quorum'] : undefined,
      channel:
        stringList(request['channel']) ??
        (typeof request['channel'] === 'string' ? request['channel'] : undefined),
      sensitive: stringList(request['sensitive']),
    });
    return {
      ...base,
      outcome: rules.autoApprove ? 'auto-approved' : 'needs-approval',
      rule: rules.policyRule,
      detail: null,
      approvers: rules.anyApprover ? 'anyone' : rules.approvers,
      quorum: rules.quorum,
      channels: rules.channels,
      masking: {
        sensitive: rules.sensitive,
        personalData: rules.maskPersonalData,
        requesterName: rules.maskRequesterName,
      },
      expiresInSeconds: rules.expiresInSeconds,
    };
  } catch (error) {
    if (!isAppError(error)) throw error;
    const denied = error.code === 'POLICY_DENIED';
    const rule = tried.find((t) => t.whenHolds && t.keysHold)?.rule ?? null;
    return { ...base, outcome: denied ? 'denied' : 'refused', rule, detail: error.detail ?? error.message };
  }
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}
