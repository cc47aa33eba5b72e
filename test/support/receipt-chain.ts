// For receipt unit tests: the audit chain record a request row of a fixture stands for, as
// audit/request-chain.ts reads it (request.created with the row's fields, its decisions, and the
// verdict event named for its status).
import type { RequestWithDecisions } from '../../apps/server/src/approvals/find-request.ts';
import type { RequestChain } from '../../apps/server/src/audit/request-chain.ts';
import type { VerdictEvent } from '../../apps/server/src/receipts/sign-receipt.ts';

export function chainOfRow(request: RequestWithDecisions, verdictEvent: VerdictEvent): RequestChain {
  const at = (request.decidedAt ?? request.createdAt ?? new Date(0)).toISOString();
  return {
    created: {
      seq: '1',
      hash: '00'.repeat(32),
      at: (request.createdAt ?? new Date(0)).toISOString(),
      payload: {
        clientId: request.clientId ?? '',
        action: request.action,
        requester: request.requesterEmail ?? '',
        requesterName: request.requesterName ?? null,
        requesterProof: request.requesterProof ?? null,
        agent: request.agent ?? null,
        payloadDigest: request.payloadDigest,
        expiresAt: (request.expiresAt ?? new Date(0)).toISOString(),
        policyRule: request.policyRule ?? 'default',
        approvers: request.approvers ?? [],
        anyApprover: request.anyApprover ?? true,
        quorum: request.quorum ?? 1,
      },
    },
    decisions: (request.decisions ?? []).map((d, index) => ({
      seq: String(index + 2),
      hash: '00'.repeat(32),
      at: d.createdAt.toISOString(),
      approver: d.approverEmail,
      platform: d.platform,
      verdict: d.verdict,
      reason: d.reason,
    })),
    verdicts:
      request.status === 'pending'
        ? []
        : [
            {
              seq: verdictEvent.seq,
              hash: verdictEvent.hash,
              at,
              type: `request.${request.status}`,
              status: request.status,
            },
          ],
    escalations: [],
  };
}
