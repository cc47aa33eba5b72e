-- Indexes that match the access paths, so their cost stays flat as history grows.

-- The channel flusher's "next card to show": only cards whose shown version lags (a handful at any
-- time) are in this index, however many cards the channel has shown. schema.prisma cannot express a
-- partial index; test/support/schema-compare.ts lists it with its exact definition.
CREATE INDEX "chat_cards_pending_idx" ON "chat_cards" ("channel", "id") WHERE "shown_version" < "version";

-- The post interval's "last post in this channel": max(posted_at) read from the end of an index.
CREATE INDEX "chat_cards_channel_posted_at_idx" ON "chat_cards" ("channel", "posted_at");

-- GET /v1/approvals filters (status, action, requester, each combination), newest first: each
-- filter set has an index whose leading columns are exactly its equalities, so a page reads only
-- rows it returns.
CREATE INDEX "approval_requests_list_status_idx" ON "approval_requests" ("client_id", "status", "created_at" DESC, "id" DESC);
CREATE INDEX "approval_requests_list_action_idx" ON "approval_requests" ("client_id", "action", "created_at" DESC, "id" DESC);
CREATE INDEX "approval_requests_list_requester_idx" ON "approval_requests" ("client_id", "requester_email", "created_at" DESC, "id" DESC);
CREATE INDEX "approval_requests_list_status_action_idx" ON "approval_requests" ("client_id", "status", "action", "created_at" DESC, "id" DESC);
CREATE INDEX "approval_requests_list_status_requester_idx" ON "approval_requests" ("client_id", "status", "requester_email", "created_at" DESC, "id" DESC);
CREATE INDEX "approval_requests_list_action_requester_idx" ON "approval_requests" ("client_id", "action", "requester_email", "created_at" DESC, "id" DESC);
CREATE INDEX "approval_requests_list_all_idx" ON "approval_requests" ("client_id", "status", "action", "requester_email", "created_at" DESC, "id" DESC);
