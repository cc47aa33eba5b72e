-- Teams: where the bot was installed (conversation references for proactive cards) and files
-- offered to a user through Teams' file consent flow, shared by every replica.

-- CreateTable
CREATE TABLE "teams_conversations" (
    "conversation_id" TEXT NOT NULL,
    "reference" JSONB NOT NULL,
    "tenant_id" TEXT,
    "team_id" TEXT,
    "conversation_type" TEXT,
    "name" TEXT,
    "installed_at" TIMESTAMPTZ(3) NOT NULL,
    "removed_at" TIMESTAMPTZ(3),

    CONSTRAINT "teams_conversations_pkey" PRIMARY KEY ("conversation_id")
);

-- CreateTable
CREATE TABLE "teams_file_offers" (
    "id" UUID NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "content" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "teams_file_offers_pkey" PRIMARY KEY ("id")
);
