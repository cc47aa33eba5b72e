-- A card the platform refused for good (channel gone, bot removed) is recorded as failed, with the
-- platform's error, so the API and /metrics can show that no reviewer saw it.
ALTER TABLE "chat_cards" ADD COLUMN "failed_at" TIMESTAMPTZ(3);
ALTER TABLE "chat_cards" ADD COLUMN "error" TEXT;
