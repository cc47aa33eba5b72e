-- Which policy secrets an execution received, by name ("PGPASSWORD=db-prod"); never their values.
ALTER TABLE "request_executions" ADD COLUMN "secrets" TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[];
