-- A key may be bound to the requesters it speaks for and to the actions it may ask about.
-- Empty (or NULL, on keys made before this) means unbound: the requester it names is only
-- claimed, and it may ask about any action.
ALTER TABLE "api_keys" ADD COLUMN "requesters" TEXT[], ADD COLUMN "actions" TEXT[];
UPDATE "api_keys" SET "requesters" = '{}', "actions" = '{}';
