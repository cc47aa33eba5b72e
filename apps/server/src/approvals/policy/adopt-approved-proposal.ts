// The approval that completes a `policy.change` request's quorum makes its proposal the version in
// force, in the deciding transaction: the new version (full text and diff) is stored and chained,
// and NOTIFY tells every replica at commit. A proposal made against a version that is no longer in
// force is refused with 409 and the whole decision rolls back: nothing is applied.
import type { PolicyVersionAuditEventInput } from '../../audit/event-types.ts';
import type { Transaction } from '../../db/transaction.ts';
import { AppError } from '../../errors.ts';
import {
  insertVersion,
  lockPolicyVersions,
  notifyPolicyChanged,
  readActiveVersion,
  readProposalOfRequest,
} from './policy-store.ts';

export async function adoptApprovedProposal(
  tx: Transaction,
  requestId: string,
  approvals: readonly string[],
  now: Date,
): Promise<PolicyVersionAuditEventInput> {
  const proposal = await readProposalOfRequest(tx, requestId);
  if (!proposal) {
    throw new AppError('POLICY_CONFLICT', {
      detail: 'this policy.change request has no stored proposal: nothing can be applied',
    });
  }
  await lockPolicyVersions(tx);
  const active = await readActiveVersion(tx);
  if (active?.version !== proposal.baseVersion) {
    throw new AppError('POLICY_CONFLICT', {
      detail: `this proposal changes version ${proposal.baseVersion}, but version ${active?.version ?? 'none'} is in force since another change was approved: nothing was applied; propose the change again against the policy in force`,
    });
  }
  const version = proposal.baseVersion + 1;
  await insertVersion(
    tx,
    {
      version,
      text: proposal.text,
      digest: proposal.digest,
      source: `proposal ${proposal.id}`,
      diff: proposal.diff,
      adoptedBy: approvals.join(', '),
      proposalId: proposal.id,
    },
    now,
  );
  await notifyPolicyChanged(tx, version);
  return {
    type: 'policy.changed',
    actor: 'countersign',
    payload: {
      version,
      proposalId: proposal.id,
      requestId,
      proposer: proposal.proposer,
      approvals: [...approvals],
      digest: proposal.digest,
      text: proposal.text,
      diff: proposal.diff,
    },
  };
}
