// The request_executions table, written under the lock of the request that ran.
import { randomUUID } from 'node:crypto';
import type { RequestExecution } from '../../generated/prisma/client.ts';
import type { ExecutionOutcome } from '../../generated/prisma/enums.ts';
import type { Transaction } from '../../db/transaction.ts';

/** request_executions columns under Prisma's names. */
const EXECUTION_COLUMNS = `id::text AS id, request_id::text AS "requestId", payload_digest AS "payloadDigest",
  outcome::text AS outcome, detail, exit_code AS "exitCode", started_at AS "startedAt",
  finished_at AS "finishedAt", coalesce(secrets, '{}') AS secrets`;

/** The request's id and status, locked for the transaction, when it belongs to the client. */
export async function lockClientRequest(
  tx: Transaction,
  requestId: string,
  clientId: string,
): Promise<{ id: string; status: string } | undefined> {
  const [row] = await tx.query<{ id: string; status: string }>(
    `SELECT id, status::text AS status
       FROM approval_requests WHERE id = $1::uuid AND client_id = $2::uuid
        FOR UPDATE`,
    [requestId, clientId],
  );
  return row;
}

/** The request's execution, or null when none started. */
export async function findExecution(tx: Transaction, requestId: string): Promise<RequestExecution | null> {
  const [row] = await tx.query<RequestExecution>(
    `SELECT ${EXECUTION_COLUMNS} FROM request_executions WHERE request_id = $1::uuid`,
    [requestId],
  );
  return row ?? null;
}

function onlyRow(rows: RequestExecution[]): RequestExecution {
  const [row] = rows;
  if (!row) throw new Error('the execution statement answered no row');
  return row;
}

/** Stores the start of the request's execution. */
export async function insertExecutionStart(
  tx: Transaction,
  data: {
    requestId: string;
    payloadDigest: string;
    detail: string | null;
    exitCode: number | null;
    startedAt: Date;
    secrets: string[];
  },
): Promise<RequestExecution> {
  return onlyRow(
    await tx.query<RequestExecution>(
      `INSERT INTO request_executions
         (id, request_id, payload_digest, outcome, detail, exit_code, started_at, secrets)
       VALUES ($1::uuid, $2::uuid, $3, 'started', $4, $5, $6, $7::text[])
       RETURNING ${EXECUTION_COLUMNS}`,
      [
        randomUUID(),
        data.requestId,
        data.payloadDigest,
        data.detail,
        data.exitCode,
        data.startedAt,
        data.secrets,
      ],
    ),
  );
}

/** Records how the request's started execution ended. */
export async function finishExecution(
  tx: Transaction,
  requestId: string,
  data: { outcome: ExecutionOutcome; detail: string | null; exitCode: number | null; finishedAt: Date },
): Promise<RequestExecution> {
  return onlyRow(
    await tx.query<RequestExecution>(
      `UPDATE request_executions
          SET outcome = $2::"ExecutionOutcome", detail = $3, exit_code = $4, finished_at = $5
        WHERE request_id = $1::uuid
       RETURNING ${EXECUTION_COLUMNS}`,
      [requestId, data.outcome, data.detail, data.exitCode, data.finishedAt],
    ),
  );
}
