-- Chat cards: one approval card per request and channel, kept in step with the request.

-- CreateTable
CREATE TABLE "chat_cards" (
    "id" BIGSERIAL NOT NULL,
    "request_id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "message_id" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "shown_version" INTEGER NOT NULL DEFAULT 0,
    "post_attempted_at" TIMESTAMPTZ(3),
    "posted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "chat_cards_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "chat_cards_channel_id_idx" ON "chat_cards"("channel", "id");

-- CreateIndex
CREATE UNIQUE INDEX "chat_cards_request_id_channel_key" ON "chat_cards"("request_id", "channel");

-- AddForeignKey
ALTER TABLE "chat_cards" ADD CONSTRAINT "chat_cards_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "approval_requests"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
