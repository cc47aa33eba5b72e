-- Events only the server can write: each event that changes a request's state carries an Ed25519
-- signature (kid.signature, base64url) over the canonical JSON its hash covers, made with an event
-- key the server holds in its configuration, never the database. The public keys are kept here
-- (written by the owner at start-up; the runtime role may only read them) and pinned in
-- checkpoints. Events appended before this migration are unsigned; signing_start records where
-- signatures begin, so an unsigned state change after it is evidence of a forged event.
ALTER TABLE "audit_events" ADD COLUMN "signature" TEXT;

CREATE TABLE "audit_event_keys" (
    "kid" TEXT NOT NULL,
    "public_jwk" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_keys_pkey" PRIMARY KEY ("kid")
);

CREATE TABLE "audit_signing_start" (
    "id" INTEGER NOT NULL,
    "seq" BIGINT NOT NULL,

    CONSTRAINT "audit_signing_start_pkey" PRIMARY KEY ("id")
);

INSERT INTO "audit_signing_start" ("id", "seq") SELECT 1, "seq" + 1 FROM "audit_chain_head" WHERE "id" = 1;

CREATE OR REPLACE FUNCTION "countersign_append_audit_events"("events" JSONB) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    "event" JSONB;
    "last_seq" BIGINT;
    "prev" TEXT;
    "next_hash" TEXT;
BEGIN
    SELECT "seq", "hash" INTO STRICT "last_seq", "prev" FROM "audit_chain_head" WHERE "id" = 1 FOR UPDATE;
    FOR "event" IN SELECT * FROM jsonb_array_elements("events") LOOP
        "last_seq" := "last_seq" + 1;
        "next_hash" := encode(sha256(convert_to("prev" || ("event"->>'canonical'), 'UTF8')), 'hex');
        INSERT INTO "audit_events" ("seq", "type", "request_id", "actor", "payload", "occurred_at", "prev_hash", "hash", "signature")
        VALUES ("last_seq", "event"->>'type', ("event"->>'requestId')::uuid, "event"->>'actor', "event"->'payload',
                ("event"->>'occurredAt')::timestamptz, "prev", "next_hash", "event"->>'signature');
        "prev" := "next_hash";
    END LOOP;
    UPDATE "audit_chain_head" SET "seq" = "last_seq", "hash" = "prev" WHERE "id" = 1;
    RETURN "last_seq";
END
$$;

-- CREATE OR REPLACE resets the function's attributes: run with its owner's rights again (see
-- 20261201215200_audit_runtime_role), with a fixed search_path, and not for PUBLIC.
DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION "countersign_append_audit_events"(JSONB) SECURITY DEFINER SET search_path = pg_catalog, %I, pg_temp',
        current_schema());
END
$$;

REVOKE EXECUTE ON FUNCTION "countersign_append_audit_events"(JSONB) FROM PUBLIC;
