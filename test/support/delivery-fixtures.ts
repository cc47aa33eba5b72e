// Shared pieces for the callback-delivery tests: server settings that make retries quick and
// let callbacks reach loopback receivers, readers for GET /v1/approvals/{id}/deliveries, and a
// way to decide a request through the real use case on the server's own database.
import { expect } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import type { Database } from '../../apps/server/src/db/client.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import type { DeliveryRepresentation } from '../../apps/server/src/http/contracts/delivery.ts';
import { pollUntil, type PollOptions } from './poll.ts';
import type { TestServer } from './test-server.ts';
import { approver, testDeps } from './use-case-fixtures.ts';

export type Delivery = DeliveryRepresentation;

/** Seconds between polls of idle job-queue workers in these tests. */
export const JOB_POLL_S = 0.5;

/** Server settings for delivery tests: loopback allowed, 1 s timeouts and first retry, quick polls. */
export function deliveryEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    COUNTERSIGN_CALLBACK_ALLOW: '127.0.0.1',
    COUNTERSIGN_CALLBACK_RETRY_DELAY_S: '1',
    COUNTERSIGN_JOB_POLL_S: String(JOB_POLL_S),
    COUNTERSIGN_CALLBACK_TIMEOUT_MS: '1000',
    ...overrides,
  };
}

/** GET /v1/approvals/{id}/deliveries, insisting on 200. */
export async function listDeliveries(t: TestServer, key: string, requestId: string): Promise<Delivery[]> {
  const response = await t.call<{ items: Delivery[] }>('GET', `/v1/approvals/${requestId}/deliveries`, {
    key,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.items;
}

/** Polls the deliveries endpoint until the request's only delivery satisfies `done`. */
export async function waitForDelivery(
  t: TestServer,
  key: string,
  requestId: string,
  done: (delivery: Delivery) => boolean,
  options: PollOptions = {},
): Promise<Delivery> {
  const items = await pollUntil(
    () => listDeliveries(t, key, requestId),
    (list) => list.length === 1 && done(list[0] as Delivery),
    { what: `the delivery of request ${requestId}`, ...options },
  );
  return items[0] as Delivery;
}

/** Records one decision through the real use case, as a chat adapter would. */
export function decide(
  db: Database,
  requestId: string,
  verdict: 'approve' | 'deny',
  email = 'bob@example.com',
): ReturnType<typeof recordDecision> {
  return recordDecision(testDeps(db, { clock: systemClock }), {
    requestId,
    verdict,
    reason: verdict === 'deny' ? 'not now' : null,
    approver: approver(email),
  });
}

/** Lets the job queue run a few more polling rounds, to show that nothing else arrives. */
export function quietPeriod(rounds = 4): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, rounds * JOB_POLL_S * 1000));
}
