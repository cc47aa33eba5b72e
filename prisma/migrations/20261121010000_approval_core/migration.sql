-- Approval core: who may decide, the agent owner, deny-reason rule, and an append-only audit log.

-- AlterTable
ALTER TABLE "approval_requests" ADD COLUMN "any_approver" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "agent_owner" TEXT,
ADD COLUMN "deny_reason_required" BOOLEAN NOT NULL DEFAULT false;

-- The audit log is append-only: the database itself refuses to change or remove history,
-- whatever the application does. Not expressible in schema.prisma, so it lives only here.
CREATE FUNCTION "countersign_audit_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER "audit_events_no_update_delete"
    BEFORE UPDATE OR DELETE ON "audit_events"
    FOR EACH ROW EXECUTE FUNCTION "countersign_audit_is_append_only"();

CREATE TRIGGER "audit_events_no_truncate"
    BEFORE TRUNCATE ON "audit_events"
    FOR EACH STATEMENT EXECUTE FUNCTION "countersign_audit_is_append_only"();

-- CreateTable
CREATE TABLE "audit_chain_head" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "audit_chain_head_pkey" PRIMARY KEY ("id")
);

-- The chain head only moves forward and is never removed: deleting events from the end of the
-- chain then leaves the head pointing past the last event, which verification reports.
INSERT INTO "audit_chain_head" ("id", "seq", "hash")
SELECT 1, COALESCE(MAX("seq"), 0), COALESCE((SELECT "hash" FROM "audit_events" ORDER BY "seq" DESC LIMIT 1), repeat('0', 64))
  FROM "audit_events";

CREATE FUNCTION "countersign_audit_head_moves_forward"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW."id" <> OLD."id" OR NEW."seq" <= OLD."seq" THEN
        RAISE EXCEPTION 'audit_chain_head only moves forward: % is not allowed', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER "audit_chain_head_forward_only"
    BEFORE UPDATE OR DELETE ON "audit_chain_head"
    FOR EACH ROW EXECUTE FUNCTION "countersign_audit_head_moves_forward"();

CREATE TRIGGER "audit_chain_head_no_truncate"
    BEFORE TRUNCATE ON "audit_chain_head"
    FOR EACH STATEMENT EXECUTE FUNCTION "countersign_audit_is_append_only"();

-- Appends hash-chained audit events in one round trip. The caller passes each event with its
-- canonical JSON (computed by the application, which also verifies the chain); the function
-- locks the chain head row, links each event (hash = sha256(prev_hash || canonical)), inserts,
-- and moves the head. FOR UPDATE in READ COMMITTED returns the head as the previous holder
-- committed it. The lock is released when the caller's transaction ends.
CREATE FUNCTION "countersign_append_audit_events"("events" JSONB) RETURNS BIGINT LANGUAGE plpgsql AS $$
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
        INSERT INTO "audit_events" ("seq", "type", "request_id", "actor", "payload", "occurred_at", "prev_hash", "hash")
        VALUES ("last_seq", "event"->>'type', ("event"->>'requestId')::uuid, "event"->>'actor', "event"->'payload',
                ("event"->>'occurredAt')::timestamptz, "prev", "next_hash");
        "prev" := "next_hash";
    END LOOP;
    UPDATE "audit_chain_head" SET "seq" = "last_seq", "hash" = "prev" WHERE "id" = 1;
    RETURN "last_seq";
END
$$;
