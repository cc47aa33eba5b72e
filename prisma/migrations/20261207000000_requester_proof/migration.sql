-- How the requester was established: claimed by an API key, bound to the key, or proven by a
-- workload identity token (issuer, subject, repository, run). Null on requests made before this.
ALTER TABLE "approval_requests" ADD COLUMN "requester_proof" JSONB;
