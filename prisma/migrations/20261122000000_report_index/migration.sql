-- The audit report reads requests of a period across all clients in (created_at, id) keyset
-- batches; without this index every batch scans and sorts the whole table.

-- CreateIndex
CREATE INDEX "approval_requests_created_at_id_idx" ON "approval_requests"("created_at", "id");
