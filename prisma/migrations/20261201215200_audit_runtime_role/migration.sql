-- The service's own sessions run as a runtime role that does not own the audit tables (see
-- apps/server/src/db/runtime-role.ts, which creates it and grants only SELECT on them). That role
-- appends through this function, which therefore runs with its owner's rights: it alone moves the
-- chain head. A fixed search_path keeps a caller from substituting its own tables or functions.
DO $$
BEGIN
    EXECUTE format(
        'ALTER FUNCTION "countersign_append_audit_events"(JSONB) SECURITY DEFINER SET search_path = pg_catalog, %I, pg_temp',
        current_schema());
END
$$;

REVOKE EXECUTE ON FUNCTION "countersign_append_audit_events"(JSONB) FROM PUBLIC;
