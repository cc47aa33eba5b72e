-- Time-bound grants: an approver who approves a call may instead approve the tool (the action) for
-- the requester and agent for a number of minutes, where the request's rule allows it
-- (`grant: { upTo: 1h }`). Later requests for the same action, requester and agent are approved by
-- the grant while it is open, each one in the audit chain with the grant's id.

ALTER TABLE "decisions" ADD COLUMN "grant_minutes" INTEGER;
-- The rule's grant.upTo in seconds, for the cards and the console to offer the choice (the chain's
-- request.created event holds it too, and is what a decision is checked against).
ALTER TABLE "approval_requests" ADD COLUMN "grant_up_to" INTEGER;

CREATE TABLE "grants" (
    "id" UUID NOT NULL,
    "request_id" UUID NOT NULL,
    "action" TEXT NOT NULL,
    "requester_email" TEXT NOT NULL,
    "agent_name" TEXT,
    "policy_rule" TEXT NOT NULL,
    "minutes" INTEGER NOT NULL,
    "approvers" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_by" TEXT,
    CONSTRAINT "grants_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "grants_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "approval_requests"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "grants_request_id_key" ON "grants"("request_id");
CREATE INDEX "grants_action_requester_email_expires_at_idx" ON "grants"("action", "requester_email", "expires_at");
