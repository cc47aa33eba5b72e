// Fixtures for tests that call the approval use cases directly: a migrated database, deps with a
// settable clock, a request factory, and readers for what ended up stored.
import { expect } from 'vitest';
import { createRequest, type CreateRequestInput } from '../../apps/server/src/approvals/create-request.ts';
import {
  DECISIONS_IN_ORDER,
  type RequestWithDecisions,
} from '../../apps/server/src/approvals/find-request.ts';
import { parsePolicy } from '../../apps/server/src/approvals/policy/load-policy.ts';
import { BUILT_IN_POLICY, type Policy } from '../../apps/server/src/approvals/policy/policy.ts';
import type { DecisionApprover } from '../../apps/server/src/approvals/record-decision.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import type { Clock, Deps } from '../../apps/server/src/deps.ts';
import { AppError, type ErrorCode } from '../../apps/server/src/errors.ts';
import { generateReceiptKey } from '../../apps/server/src/receipts/receipt-key.ts';
import { createReceiptSigner } from '../../apps/server/src/receipts/sign-receipt.ts';
import { silentLogger } from './logging.ts';
import { registerTestEventKey, testEventSigner } from './test-event-key.ts';
import { testCallbackSettings, testJobQueue } from './test-infrastructure.ts';
import { SettableClock } from './settable-clock.ts';
import { createMigratedTestDatabase, type TestDatabase } from './test-database.ts';

export interface MigratedDatabase {
  database: TestDatabase;
  db: Database;
  /** Closes the pool and drops the database. */
  close(): Promise<void>;
}

/** A fresh database (test-database.ts) with every migration applied and one pool on it. */
export async function openMigratedDatabase(): Promise<MigratedDatabase> {
  const database = await createMigratedTestDatabase();
  const db = createDatabase(database.url);
  const client = await db.pool.connect();
  try {
    await registerTestEventKey(client);
  } finally {
    client.release();
  }
  return {
    database,
    db,
    async close() {
      await db.close();
      await database.drop();
    },
  };
}

export function policyFromYaml(yaml: string): Policy {
  return parsePolicy(yaml, 'test policy');
}

export function testDeps(db: Database, options: { policy?: Policy; clock?: Clock } = {}): Deps {
  return {
    db,
    clock: options.clock ?? new SettableClock(),
    log: silentLogger(),
    policy: options.policy ?? BUILT_IN_POLICY,
    receipts: createReceiptSigner(generateReceiptKey()),
    events: testEventSigner(),
    jobs: testJobQueue(db),
    chatPlatforms: new Set<string>(),
    callbacks: testCallbackSettings,
  };
}

const clientIds = new WeakMap<Database, Promise<string>>();

/** The id of a client row to own test requests (one per database, created on first use). */
export function testClientId(db: Database): Promise<string> {
  let id = clientIds.get(db);
  if (!id) {
    id = db.prisma.client
      .create({ data: { name: 'use-case tests', callbackSecret: 'not-used' }, select: { id: true } })
      .then((c) => c.id);
    clientIds.set(db, id);
  }
  return id;
}

export const REQUESTER = 'alice@example.com';

/** Creates a request through createRequest: action `db.export`, requested by alice, unless overridden. */
export async function createTestRequest(
  deps: Deps,
  overrides: Partial<CreateRequestInput> = {},
): Promise<RequestWithDecisions> {
  const clientId = await testClientId(deps.db);
  const caller = { clientId, keyName: 'use-case tests', requesters: [], actions: [] };
  const { request } = await createRequest(deps, caller, {
    action: 'db.export',
    requester: { email: REQUESTER },
    ...overrides,
  });
  return request;
}

/** An approver as a chat adapter would pass it; null email = the platform could not resolve one. */
export function approver(email: string | null, platform = 'slack'): DecisionApprover {
  return { email, platform, platformUserId: `U-${email ?? 'unknown'}`, displayName: email ?? 'someone' };
}

/** Awaits `promise`, insisting that it rejects with an AppError of `code` (fails if nothing throws). */
export async function expectAppError(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const outcome = await promise.then(
    (value: unknown) => ({ threw: false as const, value }),
    (error: unknown) => ({ threw: true as const, error }),
  );
  if (!outcome.threw) {
    expect.fail(`expected AppError ${code}, but it resolved with ${JSON.stringify(outcome.value)}`);
  }
  expect(outcome.error, String(outcome.error)).toBeInstanceOf(AppError);
  expect((outcome.error as AppError).code).toBe(code);
  return outcome.error as AppError;
}

export interface StoredEvent {
  seq: string;
  type: string;
  requestId: string | null;
  actor: string;
  payload: Record<string, unknown>;
}

/** Audit events in seq order, all of them or those of one request. */
export async function auditEvents(db: Database, requestId?: string): Promise<StoredEvent[]> {
  const { rows } = await db.pool.query<StoredEvent>(
    `SELECT seq::text AS seq, type, request_id AS "requestId", actor, payload
       FROM audit_events WHERE $1::uuid IS NULL OR request_id = $1::uuid ORDER BY audit_events.seq`,
    [requestId ?? null],
  );
  return rows;
}

export async function storedRequest(db: Database, id: string): Promise<RequestWithDecisions> {
  return db.prisma.approvalRequest.findUniqueOrThrow({
    where: { id },
    include: DECISIONS_IN_ORDER,
  });
}
