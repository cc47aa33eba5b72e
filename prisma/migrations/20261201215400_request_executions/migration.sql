-- Executions: an executor's proof that an approved request ran, once. One row per request (the
-- unique key makes the start single-use); the outcome moves from started to succeeded or failed.

-- CreateEnum
CREATE TYPE "ExecutionOutcome" AS ENUM ('started', 'succeeded', 'failed');

-- CreateTable
CREATE TABLE "request_executions" (
    "id" UUID NOT NULL,
    "request_id" UUID NOT NULL,
    "payload_digest" TEXT NOT NULL,
    "outcome" "ExecutionOutcome" NOT NULL DEFAULT 'started',
    "detail" TEXT,
    "exit_code" INTEGER,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "request_executions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "request_executions_request_id_key" ON "request_executions"("request_id");

-- AddForeignKey
ALTER TABLE "request_executions" ADD CONSTRAINT "request_executions_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "approval_requests"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
