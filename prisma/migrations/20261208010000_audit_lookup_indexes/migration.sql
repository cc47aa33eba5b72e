-- Lookups of rare event types by seq, so that their cost stays flat as the audit chain grows: a
-- report finds the last signed checkpoint before its period, and the approvers deprovisioned
-- before a decision, from these small indexes instead of scanning every event. schema.prisma
-- cannot express a partial index; test/support/schema-compare.ts lists them with their definitions.
CREATE INDEX "audit_events_checkpoint_seq_idx" ON "audit_events" ("seq") WHERE "type" = 'audit.checkpoint';
CREATE INDEX "audit_events_directory_user_seq_idx" ON "audit_events" ("seq")
  WHERE "type" IN ('directory.user.deactivated', 'directory.user.removed', 'directory.user.reactivated', 'directory.user.created');
