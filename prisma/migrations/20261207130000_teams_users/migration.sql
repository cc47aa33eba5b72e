-- The Teams user id (the `29:` id mentions, proactive messages and card refresh take) of each
-- person the bot has resolved to a corporate email: learnt from activities, never guessed.
CREATE TABLE "teams_users" (
    "email" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "aad_object_id" TEXT,
    "tenant_id" TEXT,
    "seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "teams_users_pkey" PRIMARY KEY ("email")
);
