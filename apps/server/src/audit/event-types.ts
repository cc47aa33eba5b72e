// Audit event payloads, typed per event type so an event cannot be written with the wrong shape.

export const REFUSAL_REASONS = [
  'self_approval',
  'not_eligible',
  'identity_unresolved',
  'already_decided',
  'expired',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Where a chat command came from: the platform's user and the channel it was typed in. */
export type ChatOrigin = { platform: 'slack'; userId: string; channelId: string };

export type AuditApprover = {
  email: string | null;
  platform: string;
  platformUserId: string | null;
  displayName: string | null;
};

export type AuditEventInput =
  | {
      type: 'request.created';
      requestId: string;
      actor: string;
      payload: {
        clientId: string;
        action: string;
        requester: string;
        payloadDigest: string;
        expiresAt: string;
        policyRule: string;
        approvers: string[];
        anyApprover: boolean;
        quorum: number;
      };
    }
  | {
      type: 'request.cancelled';
      requestId: string;
      actor: string;
      payload: { clientId: string; reason: string | null };
    }
  | {
      type: 'decision.recorded';
      requestId: string;
      actor: string;
      payload: { approver: AuditApprover; verdict: 'approve' | 'deny'; reason: string | null };
    }
  | {
      type: 'decision.refused';
      requestId: string;
      actor: string;
      payload: {
        reason: RefusalReason;
        approver: AuditApprover;
        verdict: 'approve' | 'deny';
        status: string;
      };
    }
  | {
      type: 'request.approved' | 'request.denied';
      requestId: string;
      actor: string;
      payload: { approvals: string[]; denials: string[]; quorum: number; denyQuorum: number };
    }
  | {
      type: 'request.expired';
      requestId: string;
      actor: string;
      payload: { expiresAt: string };
    }
  | {
      /** A compliance report was run: auditors are audited too. */
      type: 'report.generated';
      requestId?: null;
      actor: string;
      payload: {
        from: string;
        to: string;
        format: 'csv' | 'json' | 'md';
        filters: { action: string | null; requester: string | null };
        rows: number;
        chainIntact: boolean;
        /** Set when the report was asked for from chat (the slash command). */
        origin?: ChatOrigin;
      };
    }
  | {
      /** Someone outside the policy's auditors group asked for a report from chat. */
      type: 'report.refused';
      requestId?: null;
      actor: string;
      payload: {
        reason: 'not_auditor' | 'identity_unresolved';
        origin: ChatOrigin;
        /** The command's text as typed, e.g. "report 7d". */
        text: string;
      };
    };

export type AuditEventType = AuditEventInput['type'];

/** Administrative changes: not about one request's life, but audited like one (spec §3.10). */
export type AdminAuditEventInput =
  | {
      type: 'key.created';
      requestId?: null;
      actor: string;
      payload: { keyId: string; clientId: string; name: string; prefix: string; scopes: string[] };
    }
  | {
      type: 'key.revoked';
      requestId?: null;
      actor: string;
      payload: { keyId: string; clientId: string; prefix: string };
    }
  | {
      /** A failed-for-good callback queued again by its client. */
      type: 'delivery.resent';
      requestId: string;
      actor: string;
      payload: { deliveryId: string; previousStatus: string };
    }
  | {
      /** A server started with this policy; the digest tells which file version was in force. */
      type: 'policy.loaded';
      requestId?: null;
      actor: string;
      payload: { source: string; digest: string; rules: string[] };
    };

export const ADMIN_EVENT_TYPES = ['key.created', 'key.revoked', 'delivery.resent', 'policy.loaded'] as const;

/** Every event the chain accepts. */
export type ChainEventInput = AuditEventInput | AdminAuditEventInput;
