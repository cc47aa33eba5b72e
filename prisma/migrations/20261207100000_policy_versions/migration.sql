-- The policy in force lives in the database with its versions, changed only through reviewed
-- proposals; and the groups an OIDC sign-in's `groups` claim carried, kept with when they were seen.

CREATE TABLE "policy_versions" (
    "version" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "diff" TEXT NOT NULL,
    "adopted_by" TEXT NOT NULL,
    "proposal_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "policy_versions_pkey" PRIMARY KEY ("version")
);

CREATE TABLE "policy_proposals" (
    "id" UUID NOT NULL,
    "request_id" UUID NOT NULL,
    "base_version" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "diff" TEXT NOT NULL,
    "proposer" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "policy_proposals_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "policy_proposals_request_id_key" ON "policy_proposals"("request_id");

CREATE TABLE "oidc_group_claims" (
    "email" TEXT NOT NULL,
    "groups" TEXT[],
    "group_keys" TEXT[],
    "seen_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "oidc_group_claims_pkey" PRIMARY KEY ("email")
);
