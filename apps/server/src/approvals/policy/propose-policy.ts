// A proposed policy change becomes an approval request with action `policy.change`: its approvers
// are the policy's `policy-admins` group, at least two must approve, and the proposer (its
// requester) can never approve it. The diff against the version in force is in its context, so
// every card and the console show what would change. Nothing is stored for a proposal that does
// not validate (422, every problem with its line).
import { randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../../audit/append-event.ts';
import { inTransaction } from '../../db/transaction.ts';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { createRequest } from '../create-request.ts';
import type { RequestCaller } from '../establish-requester.ts';
import type { RequestWithDecisions } from '../find-request.ts';
import { parsePolicy, PolicyError } from './load-policy.ts';
import { actionMatches, DEFAULT_EXPIRES_IN_SECONDS, type Policy, type PolicyRule } from './policy.ts';
import { diffPolicyText } from './policy-diff.ts';
import { insertProposal, readActiveVersion } from './policy-store.ts';
import { POLICY_CHANGE_ACTION } from './policy-versions.ts';

export const POLICY_ADMINS_GROUP = 'policy-admins';
/** Two-person review: a change needs at least this many approvals, whatever a rule says. */
export const MIN_POLICY_CHANGE_QUORUM = 2;

export interface ProposePolicyInput {
  /** The complete new policy file. */
  text: string;
  requester?: { email: string; name?: string | undefined } | undefined;
  reason?: string | undefined;
}

export interface PolicyProposal {
  id: string;
  baseVersion: number;
  digest: string;
  diff: string;
  proposer: string;
}

/** Every problem of a proposed text, each with its line, as a 422. */
export function validateProposedText(text: string): Policy {
  try {
    return parsePolicy(text, 'proposal');
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new AppError('POLICY_INVALID', {
      detail: `the proposed policy does not validate: ${error.problems.length} problem(s)`,
      errors: error.problems.map((p) => ({
        pointer: '/policy',
        message: `line ${p.line}, column ${p.column}: ${p.field}: ${p.message}`,
      })),
    });
  }
}

/**
 * The rule a `policy.change` request is held to: the `policy-admins` group, quorum at least two;
 * a rule of the policy in force matching `policy.change` may raise the quorum and names the
 * channels and expiry.
 */
export function policyChangeRule(policy: Policy): PolicyRule {
  const admins = policy.groups[POLICY_ADMINS_GROUP];
  if (!admins || admins.length === 0) {
    throw new AppError('POLICY_VIOLATION', {
      detail: `the policy in force has no "${POLICY_ADMINS_GROUP}" group: a policy change needs its members to review it`,
      errors: [{ pointer: '/policy', message: `the policy in force names no ${POLICY_ADMINS_GROUP} group` }],
    });
  }
  // Its `when:` and `keys:` are not consulted: who may change the policy is not the caller's choice.
  const configured = policy.rules.find(
    (rule) => rule.refusal === null && !rule.autoApprove && actionMatches(rule.actions, POLICY_CHANGE_ACTION),
  );
  return {
    name: 'policy-change',
    actions: [POLICY_CHANGE_ACTION],
    approvers: [...new Set(admins.map((a) => a.toLowerCase()))],
    approverGroups: [POLICY_ADMINS_GROUP],
    quorum: Math.max(MIN_POLICY_CHANGE_QUORUM, configured?.quorum ?? 0),
    denyQuorum: configured?.denyQuorum ?? 1,
    expiresInSeconds: configured?.expiresInSeconds ?? DEFAULT_EXPIRES_IN_SECONDS * 24,
    channels: configured?.channels ?? [],
    defaultChannels: configured?.defaultChannels ?? [],
    sensitive: [],
    mask: [],
    maskRequesterName: false,
    autoApprove: false,
    denyReasonRequired: false,
    when: null,
    keys: null,
    refusal: null,
    requireProvenRequester: false,
    grantUpToSeconds: null,
  };
}

export async function proposePolicy(
  deps: Deps,
  caller: RequestCaller,
  input: ProposePolicyInput,
): Promise<{ proposal: PolicyProposal; request: RequestWithDecisions }> {
  const proposed = validateProposedText(input.text);
  const active = await readActiveVersion(deps.db);
  if (!active) {
    throw new AppError('POLICY_VIOLATION', {
      detail:
        'no policy version is stored yet: start the server once with COUNTERSIGN_POLICY set, and it adopts that file as version 1',
    });
  }
  if (proposed.digest === active.digest) {
    throw new AppError('POLICY_VIOLATION', {
      detail: `the proposed policy is identical to version ${active.version} in force`,
      errors: [{ pointer: '/policy', message: 'changes nothing' }],
    });
  }
  const policy = deps.policy;
  const governing: Policy = { ...policy, rules: [policyChangeRule(policy)] };
  const id = randomUUID();
  const diff = diffPolicyText(active.text, input.text, `version ${active.version}`, 'proposed');
  const digest = proposed.digest ?? '';
  const { request } = await createRequest(
    { ...deps, policy: governing },
    caller,
    {
      action: POLICY_CHANGE_ACTION,
      title: `Policy change: version ${active.version} → ${active.version + 1}`,
      ...(input.reason ? { reason: input.reason } : {}),
      ...(input.requester ? { requester: input.requester } : {}),
      context: { proposal: id, baseVersion: active.version, digest, diff },
    },
    undefined,
    { reservedAction: true },
  );
  const proposal = { id, baseVersion: active.version, digest, diff, proposer: request.requesterEmail };
  const now = deps.clock.now();
  await inTransaction(deps.db, async (tx) => {
    await insertProposal(tx, { ...proposal, requestId: request.id, text: input.text }, now);
    await appendAuditEvent(
      tx,
      {
        type: 'policy.proposed',
        actor: proposal.proposer,
        payload: { proposalId: id, requestId: request.id, baseVersion: active.version, digest, diff },
      },
      now,
    );
  });
  return { proposal, request };
}
