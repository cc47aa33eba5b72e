-- Break-glass: a request a rule let its requester approve at once, with a mandatory review
-- afterwards; and delegation: an approver's stand-in while they are away.

ALTER TABLE "approval_requests" ADD COLUMN "break_glass" TEXT;

ALTER TABLE "decisions" ADD COLUMN "on_behalf_of" TEXT;

CREATE TABLE "break_glass_reviews" (
    "request_id" UUID NOT NULL,
    "policy_rule" TEXT NOT NULL,
    "requester_email" TEXT NOT NULL,
    "api_key_id" UUID,
    "reviewers" TEXT[],
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "outcome" TEXT,
    "reviewed_by" TEXT,
    "note" TEXT,
    "reviewed_at" TIMESTAMPTZ(3),
    "overdue_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "break_glass_reviews_pkey" PRIMARY KEY ("request_id")
);
CREATE INDEX "break_glass_reviews_policy_rule_requester_email_created_at_idx" ON "break_glass_reviews"("policy_rule", "requester_email", "created_at");
CREATE INDEX "break_glass_reviews_policy_rule_api_key_id_created_at_idx" ON "break_glass_reviews"("policy_rule", "api_key_id", "created_at");
ALTER TABLE "break_glass_reviews" ADD CONSTRAINT "break_glass_reviews_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "approval_requests"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "delegations" (
    "id" UUID NOT NULL,
    "from_email" TEXT NOT NULL,
    "to_email" TEXT NOT NULL,
    "until" TIMESTAMPTZ(3) NOT NULL,
    "reason" TEXT,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "removed_at" TIMESTAMPTZ(3),
    "removed_by" TEXT,
    "expiry_recorded_at" TIMESTAMPTZ(3),
    CONSTRAINT "delegations_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "delegations_from_email_idx" ON "delegations"("from_email");
CREATE INDEX "delegations_to_email_idx" ON "delegations"("to_email");
