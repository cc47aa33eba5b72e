// The callback_deliveries and callback_attempts tables as a delivery attempt reads and writes them.
import { randomUUID } from 'node:crypto';
import { readRequestViewWhere, type RequestView } from '../approvals/store/request-view-store.ts';
import type { Database } from '../db/client.ts';

type Db = Pick<Database, 'pool'>;

/**
 * The delivery with its status and its client's callback secret (in `row`), and the request with
 * its chain record (`view`), in one statement; null for an unknown delivery.
 */
export async function readDeliveryToAttempt(
  db: Db,
  deliveryId: string,
): Promise<{ view: RequestView; row: Record<string, unknown> } | null> {
  return readRequestViewWhere(
    db,
    {
      from: `callback_deliveries dl JOIN approval_requests r ON r.id = dl.request_id
             JOIN clients cl ON cl.id = r.client_id`,
      where: 'dl.id = $1::uuid',
      extra: 'dl.id::text AS delivery_id, dl.status::text AS delivery_status, cl.callback_secret',
    },
    deliveryId,
  );
}

export interface DeliveryAttempt {
  deliveryId: string;
  attemptedAt: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The delivery's end, or null when it stays pending for another attempt. */
  finished: string | null;
  /** When the delivery ended (used only when `finished`). */
  completedAt: Date;
}

/**
 * Records the attempt and the delivery's new state in one statement: atomic without a
 * transaction's BEGIN and COMMIT round trips.
 */
export async function recordDeliveryAttempt(db: Db, attempt: DeliveryAttempt): Promise<void> {
  await db.pool.query(
    `WITH attempt AS (
      INSERT INTO callback_attempts (id, delivery_id, attempted_at, status_code, error, duration_ms)
      VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6)
    )
    UPDATE callback_deliveries
       SET attempt_count = attempt_count + 1,
           last_error = $7,
           status = COALESCE($8::"DeliveryStatus", status),
           completed_at = CASE WHEN $9::text IS NULL THEN completed_at ELSE $10 END
     WHERE id = $11::uuid`,
    [
      randomUUID(),
      attempt.deliveryId,
      attempt.attemptedAt,
      attempt.statusCode,
      attempt.error,
      attempt.durationMs,
      attempt.error,
      attempt.finished,
      attempt.finished,
      attempt.completedAt,
      attempt.deliveryId,
    ],
  );
}
