// Audit event payloads, typed per event type so an event cannot be written with the wrong shape.

export const REFUSAL_REASONS = [
  'self_approval',
  'not_eligible',
  'identity_unresolved',
  'already_decided',
  'expired',
  'foreign_tenant',
  'deprovisioned',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Where a chat command came from: the platform's user and the channel it was typed in. */
export type ChatOrigin = { platform: 'slack' | 'teams'; userId: string; channelId: string };

/** Where a report was asked for: a chat command, or the web console (its user is the event's actor). */
export type ReportOrigin = ChatOrigin | { platform: 'web' };

/** A Teams conversation as its install and removal events record it. */
export type TeamsConversationAudit = {
  conversationId: string;
  conversationType: string | null;
  tenantId: string | null;
  teamId: string | null;
  name: string | null;
  /** What told us: "conversationUpdate" (bot in membersAdded/membersRemoved) or "installationUpdate". */
  via: 'conversationUpdate' | 'installationUpdate';
};

export type AuditApprover = {
  email: string | null;
  platform: string;
  platformUserId: string | null;
  displayName: string | null;
};

/**
 * The web console session a decision came through: its public reference (never the cookie's
 * session id) and whether it was a development sign-in, where anyone can be anyone.
 */
export type WebSessionRef = { ref: string; devSignin: boolean };

/**
 * Everything the reviewer saw and every rule the decision is held to, as stored (masked): the
 * chain, not the request row, is what receipts, executions, decisions and `audit verify` trust.
 * Events written before a field was added lack it (optional here for that reason only).
 */
export type RequestCreatedPayload = {
  clientId: string;
  action: string;
  /** The requester's email (lower-cased). */
  requester: string;
  payloadDigest: string;
  expiresAt: string;
  policyRule: string;
  approvers: string[];
  /** The policy groups the rule's approvers came from, name → lower-cased members (none: absent). */
  approverGroups?: Record<string, string[]>;
  anyApprover: boolean;
  quorum: number;
  title?: string | null;
  reason?: string | null;
  requesterName?: string | null;
  /** How the requester was established (receipts/requester-proof.ts); null when unknown. */
  requesterProof?: unknown;
  agent?: unknown;
  /** The context as stored, secrets masked. */
  context?: unknown;
  agentOwner?: string | null;
  denyQuorum?: number;
  denyReasonRequired?: boolean;
  channels?: string[];
  /** The stored policy version whose rule the request was created under (it keeps that rule). */
  policyVersion?: number;
  /** The rule's `grant: { upTo }` in seconds: approvers may approve the action for a window. */
  grantUpTo?: number;
  /** Break-glass: the requester's emergency reason (the request was approved at once). */
  breakGlass?: { reason: string; reviewers: string[]; reviewDueAt: string };
  /** The rule's reminders, escalation and requester notice (approvals/follow-up/); absent: none, told. */
  followUp?: FollowUpPlan;
};

/** What a request's rule asked for while it waits and once it is decided, as request.created records it. */
export type FollowUpPlan = {
  remindSeconds: number[];
  escalate: { afterSeconds: number; approvers: string[]; channel: string | null } | null;
  notifyRequester: boolean;
};

export type AuditEventInput =
  | {
      type: 'request.created';
      requestId: string;
      actor: string;
      payload: RequestCreatedPayload;
    }
  | {
      /**
       * A request was refused before it was stored: a bound key naming another requester or an
       * action outside its set, an unproven requester where a rule wants proof, a policy `deny`.
       */
      type: 'request.refused';
      requestId?: null;
      actor: string;
      payload: {
        clientId: string;
        keyName: string;
        /** The error code the caller got, e.g. REQUESTER_NOT_BOUND. */
        code: string;
        action: string;
        requester: string | null;
        detail: string;
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
      payload: {
        approver: AuditApprover;
        verdict: 'approve' | 'deny';
        reason: string | null;
        /** Set for decisions made in the web console. */
        session?: WebSessionRef;
        /**
         * What made the approver eligible, when not named on their own: an identity provider group
         * (`idp:<name>`) or a policy group (`group:<name>`).
         */
        eligibleThrough?: string;
        /** Where that membership was read: a SCIM group, or the groups claim of an OIDC sign-in. */
        eligibleSource?: 'scim' | 'oidc';
        /** The approver approved the action for this many minutes rather than this call alone. */
        grantMinutes?: number;
        /** The decision was made by an open grant (actor `grant:<id>`), not a person. */
        grantId?: string;
        /** A delegate's decision: the approver whose place they took ("carol for bob"). */
        onBehalfOf?: string;
      };
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
        /** Set for attempts made in the web console. */
        session?: WebSessionRef;
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
      /** Approvers who had not decided were reminded in the card's thread (step counts from 1). */
      type: 'request.reminded';
      requestId: string;
      actor: string;
      payload: {
        step: number;
        /** Emails mentioned, per channel the reminder was posted in. */
        channels: { channel: string; mentioned: string[] }[];
        /** Undecided approvers the platform could not find by email: skipped, counted. */
        unresolved: string[];
      };
    }
  | {
      /** The rule's escalation: these approvers were added to those who may decide. */
      type: 'request.escalated';
      requestId: string;
      actor: string;
      payload: { approvers: string[]; channel: string | null; afterSeconds: number };
    }
  | {
      /** The requester was told the verdict: by direct message, in the card's thread, or could not be. */
      type: 'requester.notified';
      requestId: string;
      actor: string;
      payload: {
        status: 'approved' | 'denied' | 'expired' | 'cancelled';
        via: 'direct_message' | 'card_thread' | 'none';
        platform: string | null;
        detail: string | null;
      };
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
        /** With --controls: the framework, and how many of its controls came out in each status. */
        controls?: { framework: string; met: number; attention: number; noEvidence: number };
      };
    }
  | {
      /** Someone outside the policy's auditors group asked for a report from chat or the console. */
      type: 'report.refused';
      requestId?: null;
      actor: string;
      payload: {
        reason: 'not_auditor' | 'identity_unresolved';
        origin: ReportOrigin;
        /** The command's text as typed, e.g. "report 7d"; on the console, the method and path. */
        text: string;
      };
    }
  | {
      /** The Teams bot was added to a team channel, group chat or personal chat (cards can go there). */
      type: 'teams.installed' | 'teams.removed';
      requestId?: null;
      actor: string;
      payload: TeamsConversationAudit;
    }
  | {
      /**
       * A signed checkpoint of the chain head (audit/create-checkpoint.ts): whoever keeps an
       * exported copy can later prove the chain up to `seq` was not rewritten.
       */
      type: 'audit.checkpoint';
      requestId?: null;
      actor: string;
      payload: { seq: string; hash: string; at: string; eventKeys?: string[]; kid: string; jws: string };
    }
  | {
      /** An executor started an approved request, or reported how its run ended. */
      type: 'request.executed';
      requestId: string;
      actor: string;
      payload: {
        clientId: string;
        outcome: ExecutionOutcome;
        payloadDigest: string;
        detail: string | null;
        exitCode: number | null;
        /** Policy secrets handed to the run, as "ENV=secret-name"; names only, never values. */
        secrets?: string[];
      };
    }
  | {
      /** An execution was refused: not approved, another digest, a second start, … */
      type: 'execution.refused';
      requestId: string;
      actor: string;
      payload: {
        clientId: string;
        reason: ExecutionRefusalReason;
        outcome: ExecutionOutcome;
        payloadDigest: string;
        status: string;
        /** The secrets the start asked for, as "ENV=secret-name"; names only. */
        secrets?: string[];
      };
    }
  | {
      /** Someone signed in to the web console (OpenID Connect, or the development sign-in). */
      type: 'session.signed_in';
      requestId?: null;
      actor: string;
      payload: {
        session: WebSessionRef;
        method: 'oidc' | 'dev';
        issuer: string | null;
        subject: string | null;
      };
    }
  | {
      /** A web console session was ended by its owner. */
      type: 'session.signed_out';
      requestId?: null;
      actor: string;
      payload: { session: WebSessionRef };
    }
  | {
      /** An OpenID sign-in without a verified email: refused, like an unresolved chat identity. */
      type: 'session.refused';
      requestId?: null;
      actor: string;
      payload: {
        reason: 'identity_unresolved';
        detail: 'email_missing' | 'email_not_verified';
        issuer: string;
        subject: string;
        email: string | null;
      };
    }
  | {
      /** A request's approval opened a time-bound grant for its action, requester and agent. */
      type: 'grant.opened';
      requestId: string;
      actor: string;
      payload: {
        grantId: string;
        action: string;
        requester: string;
        agent: string | null;
        policyRule: string;
        minutes: number;
        expiresAt: string;
        approvers: string[];
      };
    }
  | {
      /** An open grant was revoked before its expiry: later requests ask people again. */
      type: 'grant.revoked';
      requestId: string;
      actor: string;
      payload: { grantId: string; revokedBy: string };
    }
  | {
      /** A tool call the MCP gateway forwarded without an approval request (its file says allow). */
      type: 'gateway.call.forwarded';
      requestId?: null;
      actor: string;
      payload: GatewayCallAudit;
    }
  | BreakGlassAuditEventInput
  | DelegationAuditEventInput;

/** Break-glass (approvals/break-glass/): its review, acknowledged or flagged, or overdue. */
export type BreakGlassAuditEventInput =
  | {
      /** A reviewer acknowledged (or flagged) a break-glass use. */
      type: 'breakglass.reviewed';
      requestId: string;
      actor: string;
      payload: { outcome: 'acknowledged' | 'flagged'; reviewer: string; note: string | null };
    }
  | {
      /**
       * Nobody reviewed a break-glass use within the rule's reviewWithin: announced again, and
       * escalated (its approvers added to the reviewers, a card in its channel) when the rule says so.
       */
      type: 'breakglass.review_overdue';
      requestId: string;
      actor: string;
      payload: {
        dueAt: string;
        reviewers: string[];
        channels: string[];
        escalatedTo: { approvers: string[]; channel: string | null } | null;
      };
    };

/** Delegation (approvals/delegation/): an approver's stand-in while they are away. */
export type DelegationAuditEventInput =
  | {
      type: 'delegation.created' | 'delegation.removed' | 'delegation.expired';
      requestId?: null;
      actor: string;
      payload: { delegationId: string; from: string; to: string; until: string; reason: string | null };
    }
  | {
      /** A delegate decided in the place of an eligible approver. */
      type: 'delegation.used';
      requestId: string;
      actor: string;
      payload: { delegationId: string; from: string; to: string; verdict: 'approve' | 'deny' };
    };

/** What the chain keeps of an allowed gateway call: digests and names, never arguments or secrets. */
export type GatewayCallAudit = {
  clientId: string;
  server: string;
  tool: string;
  requester: string;
  agent: string | null;
  /** sha256 over the canonical {action, context} of the call, as a held call's payloadDigest. */
  payloadDigest: string;
  isError: boolean | null;
  resultDigest: string | null;
  /** Why the call produced no result (the downstream server failed), else null. */
  error: string | null;
  /** Names of the secrets the downstream server held. */
  secrets: string[];
};

export type AuditEventType = AuditEventInput['type'];

export const EXECUTION_OUTCOMES = ['started', 'succeeded', 'failed'] as const;
export type ExecutionOutcome = (typeof EXECUTION_OUTCOMES)[number];

export const EXECUTION_REFUSAL_REASONS = [
  'not_approved',
  'digest_mismatch',
  'already_executed',
  'not_started',
  'finished',
  'secret_not_allowed',
] as const;
export type ExecutionRefusalReason = (typeof EXECUTION_REFUSAL_REASONS)[number];
/** Administrative changes: not about one request's life, but audited like one (spec §3.10). */
export type AdminAuditEventInput =
  | {
      type: 'key.created';
      requestId?: null;
      actor: string;
      payload: {
        keyId: string;
        clientId: string;
        name: string;
        prefix: string;
        scopes: string[];
        /** The requesters the key is bound to; absent or empty = unbound. */
        requesters?: string[];
        /** The action globs the key is limited to; absent or empty = any action. */
        actions?: string[];
        /** The people who administer the key's client (they see its requests); absent or empty = none. */
        admins?: string[];
      };
    }
  | {
      /** The people who administer a key's client changed; `admins` is the list now in force. */
      type: 'key.admins.changed';
      requestId?: null;
      actor: string;
      payload: { keyId: string; clientId: string; prefix: string; before: string[]; admins: string[] };
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
    }
  | PolicyVersionAuditEventInput;

/** The policy's versions (approvals/policy/policy-versions.ts): adopted, proposed, changed, file ignored. */
export type PolicyVersionAuditEventInput =
  | {
      /** The first start with no stored version adopted the configured file as version 1. */
      type: 'policy.adopted';
      requestId?: null;
      actor: string;
      payload: { version: number; source: string; digest: string; text: string };
    }
  | {
      /** A change was proposed; `requestId` is its `policy.change` approval request. */
      type: 'policy.proposed';
      requestId?: null;
      actor: string;
      payload: {
        proposalId: string;
        requestId: string;
        baseVersion: number;
        digest: string;
        diff: string;
      };
    }
  | {
      /** An approved proposal became the version in force, with its full text and diff. */
      type: 'policy.changed';
      requestId?: null;
      actor: string;
      payload: {
        version: number;
        proposalId: string;
        requestId: string;
        proposer: string;
        approvals: string[];
        digest: string;
        text: string;
        diff: string;
      };
    }
  | {
      /** At start-up the configured file differed from the version in force: it was not applied. */
      type: 'policy.file_ignored';
      requestId?: null;
      actor: string;
      payload: { source: string; fileDigest: string; activeVersion: number; activeDigest: string };
    };

/** Administrative events the report counts: keys, re-sends, and every step of the policy's versions. */
export const ADMIN_EVENT_TYPES = [
  'key.created',
  'key.admins.changed',
  'key.revoked',
  'delivery.resent',
  'policy.loaded',
  'policy.adopted',
  'policy.proposed',
  'policy.changed',
  'policy.file_ignored',
] as const;

/** What the identity provider's SCIM client changed in the directory (directory/), by token. */
export type DirectoryAuditEventInput =
  | {
      type: 'directory.user.created' | 'directory.user.deactivated' | 'directory.user.reactivated';
      requestId?: null;
      actor: string;
      payload: { userId: string; userName: string; email: string | null };
    }
  | {
      type: 'directory.user.removed';
      requestId?: null;
      actor: string;
      payload: { userId: string; userName: string; email: string | null };
    }
  | {
      type: 'directory.group.created' | 'directory.group.removed';
      requestId?: null;
      actor: string;
      payload: { groupId: string; displayName: string };
    }
  | {
      type: 'directory.group.renamed';
      requestId?: null;
      actor: string;
      payload: { groupId: string; from: string; to: string };
    }
  | {
      type: 'directory.member.added' | 'directory.member.removed';
      requestId?: null;
      actor: string;
      payload: { groupId: string; group: string; userId: string; userName: string; email: string | null };
    }
  | {
      type: 'scim.token.created' | 'scim.token.revoked';
      requestId?: null;
      actor: string;
      payload: { tokenId: string; name: string; prefix: string };
    };

/** Every event the chain accepts. */
export type ChainEventInput = AuditEventInput | AdminAuditEventInput | DirectoryAuditEventInput;
