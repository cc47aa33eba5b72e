-- Web console: sessions shared by every replica, the generated session-cookie secret, and the
-- development sign-in mark on decisions.

-- CreateTable
CREATE TABLE "web_sessions" (
    "sid_hash" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "web_sessions_pkey" PRIMARY KEY ("sid_hash")
);

-- CreateIndex
CREATE INDEX "web_sessions_expires_at_idx" ON "web_sessions"("expires_at");

-- CreateTable
CREATE TABLE "web_session_secrets" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "secret" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "web_session_secrets_pkey" PRIMARY KEY ("id")
);

-- AlterTable
ALTER TABLE "decisions" ADD COLUMN "dev_signin" BOOLEAN NOT NULL DEFAULT false;
