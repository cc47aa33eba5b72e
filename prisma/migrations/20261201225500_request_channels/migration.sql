-- A request may be posted to several channels (Slack and Teams alike); `channel` stays the first.
ALTER TABLE "approval_requests" ADD COLUMN "channels" TEXT[];
UPDATE "approval_requests" SET "channels" = ARRAY["channel"] WHERE "channel" IS NOT NULL;
