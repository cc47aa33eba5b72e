-- Which policy secrets an execution received, by name ("PGPASSWORD=db-prod"); never their values.
-- Nullable like every list column Prisma describes; rows written before have none.
ALTER TABLE "request_executions" ADD COLUMN "secrets" TEXT[];
UPDATE "request_executions" SET "secrets" = '{}';
