// The approval request as the API returns it (spec §2), and the presenter that produces it.
import { z } from 'zod';
import type { RequestWithDecisions } from '../find-request.ts';
import { reviewStatusOf } from '../break-glass/review-status.ts';
import { redactCallbackUrl } from '../masking.ts';
import {
  describeRequesterProof,
  readRequesterProof,
  requesterProofSchema,
} from '../../receipts/requester-proof.ts';

export const approvalStatusSchema = z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']);

const decisionSchema = z
  .object({
    approver: z.object({
      email: z.string(),
      platform: z.string(),
      platformUserId: z.string().nullable(),
      displayName: z.string().nullable(),
    }),
    verdict: z.enum(['approve', 'deny']),
    reason: z.string().nullable(),
    at: z.iso.datetime(),
    onBehalfOf: z.string().nullable().optional().meta({
      description: 'a delegate\'s decision: the approver whose place they took (shown as "carol for bob")',
    }),
  })
  .meta({ id: 'Decision' });

const cardSchema = z
  .object({
    channel: z.string(),
    status: z.enum(['pending', 'posted', 'failed']).meta({
      description:
        'pending: not shown yet; posted: on the platform and kept in step; failed: the platform refused it for good (see error)',
    }),
    error: z.string().nullable().meta({ description: "the platform's error for a failed card" }),
    postedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ChatCard' });

const jsonObjectSchema = z.record(z.string(), z.unknown());

export const approvalSchema = z
  .object({
    id: z.uuid(),
    status: approvalStatusSchema,
    action: z.string(),
    title: z.string().nullable(),
    reason: z.string().nullable(),
    requester: z.object({
      email: z.string(),
      name: z.string().nullable(),
      proof: requesterProofSchema.nullable().optional().meta({
        description: 'how the requester was established; null on requests made before proofs were kept',
      }),
      shown: z.string().optional().meta({
        description: 'the proof in one line, e.g. "proven (github-actions: alice / org/repo / run 123)"',
      }),
    }),
    agent: z
      .object({ name: z.string(), model: z.string().optional(), runId: z.string().optional() })
      .nullable(),
    context: jsonObjectSchema,
    payloadDigest: z
      .string()
      .meta({ description: 'sha256:<hex> over the canonical JSON of {action, context}' }),
    approvers: z.array(z.string()).meta({
      description:
        'eligible emails, and idp:<group> for identity provider groups; empty means anyone but the requester',
    }),
    quorum: z.number().int(),
    policyRule: z.string().nullable(),
    channel: z.string().nullable().meta({ description: 'the first of `channels`' }),
    channels: z.array(z.string()).meta({ description: 'every channel the request is posted to' }),
    callbackUrl: z
      .string()
      .nullable()
      .meta({ description: 'query values and fragment shown as ••••; the full URL is used only to deliver' }),
    decisions: z.array(decisionSchema),
    cards: z
      .array(cardSchema)
      .meta({ description: 'one chat card per channel the request was posted to, with its state' }),
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    decidedAt: z.iso.datetime().nullable(),
    breakGlass: z
      .object({
        reason: z.string(),
        reviewers: z.array(z.string()),
        reviewDueAt: z.iso.datetime(),
        review: z.enum(['pending', 'acknowledged', 'flagged', 'overdue']),
        reviewedBy: z.string().nullable(),
        reviewNote: z.string().nullable(),
        reviewedAt: z.iso.datetime().nullable(),
      })
      .nullable()
      .optional()
      .meta({
        description:
          "set when the requester used break-glass: approved at once, reviewed afterwards by the rule's reviewers",
      }),
    receipt: z.string().optional().meta({
      description:
        'present once decided and its verdict event is in the audit chain: a compact JWS (EdDSA, Ed25519) over {id, action, payloadDigest, status, decisions, decidedAt, verdictEvent: {seq, hash}}, verifiable offline against GET /v1/keys/receipt',
    }),
  })
  .meta({ id: 'Approval' });

export type ApprovalRepresentation = z.infer<typeof approvalSchema>;

const agentSchema = approvalSchema.shape.agent.unwrap();

function presentBreakGlass(request: RequestWithDecisions): ApprovalRepresentation['breakGlass'] {
  const review = request.breakGlassReview;
  return {
    reason: request.breakGlass ?? '',
    reviewers: review?.reviewers ?? [],
    reviewDueAt: (review?.dueAt ?? request.createdAt).toISOString(),
    review: review ? reviewStatusOf(review) : 'pending',
    reviewedBy: review?.reviewedBy ?? null,
    reviewNote: review?.note ?? null,
    reviewedAt: review?.reviewedAt?.toISOString() ?? null,
  };
}

/** `receipt` (from the ReceiptSigner) is shown only when the request is decided. */
export function presentApproval(
  request: RequestWithDecisions,
  receipt: string | null,
): ApprovalRepresentation {
  const agent = agentSchema.safeParse(request.agent);
  const proof = readRequesterProof(request.requesterProof);
  return {
    id: request.id,
    status: request.status,
    action: request.action,
    title: request.title,
    reason: request.reason,
    requester: {
      email: request.requesterEmail,
      name: request.requesterName,
      proof,
      shown: describeRequesterProof(proof),
    },
    agent: agent.success ? agent.data : null,
    context: jsonObjectSchema.parse(request.context),
    payloadDigest: request.payloadDigest,
    approvers: request.approvers,
    quorum: request.quorum,
    policyRule: request.policyRule,
    channel: request.channel,
    channels: request.channels,
    callbackUrl: request.callbackUrl === null ? null : redactCallbackUrl(request.callbackUrl),
    decisions: request.decisions.map((d) => ({
      approver: {
        email: d.approverEmail,
        platform: d.platform,
        platformUserId: d.platformUserId,
        displayName: d.displayName,
      },
      verdict: d.verdict,
      reason: d.reason,
      at: d.createdAt.toISOString(),
      ...(d.onBehalfOf ? { onBehalfOf: d.onBehalfOf } : {}),
    })),
    cards: request.chatCards.map((card) => ({
      channel: card.channel,
      status: card.failedAt ? 'failed' : card.messageId ? 'posted' : 'pending',
      error: card.failedAt ? card.error : null,
      postedAt: card.postedAt?.toISOString() ?? null,
    })),
    createdAt: request.createdAt.toISOString(),
    expiresAt: request.expiresAt.toISOString(),
    decidedAt: request.decidedAt?.toISOString() ?? null,
    ...(request.breakGlass !== null ? { breakGlass: presentBreakGlass(request) } : {}),
    ...(receipt !== null && request.status !== 'pending' ? { receipt } : {}),
  };
}
