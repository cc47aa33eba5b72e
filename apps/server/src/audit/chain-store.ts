// The audit chain's writes and the reads that go with them: the append (one call of the database
// function countersign_append_audit_events, which takes the chain lock, links and inserts), the
// head a checkpoint signs, the registered event keys, and one request's chain events.
import type pg from 'pg';
import type { Database } from '../db/client.ts';
import { runSql, type SqlSource, type Transaction } from '../db/transaction.ts';
import type { ReceiptKey } from '../receipts/receipt-key.ts';
import type { ReadSnapshot } from '../db/read-snapshot.ts';

/** Appends a batch (chainBatchJson's text) to the chain inside the caller's transaction. */
export async function appendChainBatch(tx: Transaction, batch: string): Promise<void> {
  await runSql(tx, 'SELECT countersign_append_audit_events($1::jsonb)', [batch]);
}

/** Appends a batch and commits in the same round trip: the transaction's last step. */
export async function appendChainBatchAndCommit(tx: Transaction, batch: string): Promise<void> {
  await tx.commitWith(appendChainBatchStatement(tx, batch));
}

/** The parameterless statement that appends a batch, for a round trip that sends it with others. */
export function appendChainBatchStatement(tx: Transaction, batch: string): string {
  return `SELECT countersign_append_audit_events(${tx.literal(batch)}::jsonb)`;
}

/** The chain head and the type of the event at it (null when the chain is empty). */
export interface HeadForCheckpoint {
  seq: string;
  hash: string;
  last_type: string | null;
}

/** Reads the chain head, without the chain lock, and the type of its last event. */
export async function readHeadForCheckpoint(tx: Transaction): Promise<HeadForCheckpoint | undefined> {
  const [head] = await tx.query<HeadForCheckpoint>(
    `SELECT h.seq::text AS seq, h.hash, (SELECT type FROM audit_events e WHERE e.seq = h.seq) AS last_type
       FROM audit_chain_head h WHERE h.id = 1`,
  );
  return head;
}

/** Appends a checkpoint's batch and answers the seq the append ended at. */
export async function appendCheckpointBatch(tx: Transaction, batch: string): Promise<string | undefined> {
  const [appended] = await tx.query<{ seq: string }>(
    'SELECT countersign_append_audit_events($1::jsonb)::text AS seq',
    [batch],
  );
  return appended?.seq;
}

/** The rows eventKeysFrom builds the event keys from. */
export interface EventKeyRows {
  /** `SELECT kid, public_jwk FROM audit_event_keys`. */
  keyRows: unknown[];
  /** `SELECT seq::text AS seq FROM audit_signing_start WHERE id = 1`. */
  signingRows: unknown[];
}

/** Reads the registered event keys and where signing started, in a transaction or a snapshot. */
export async function readEventKeyRows(reader: Transaction | ReadSnapshot): Promise<EventKeyRows> {
  const rowsOf = async (text: string): Promise<unknown[]> =>
    isTransaction(reader) ? reader.query<unknown>(text) : (await reader.query(text)).rows;
  const keyRows = await rowsOf('SELECT kid, public_jwk FROM audit_event_keys');
  const signingRows = await rowsOf('SELECT seq::text AS seq FROM audit_signing_start WHERE id = 1');
  return { keyRows, signingRows };
}

function isTransaction(reader: Transaction | ReadSnapshot): reader is Transaction {
  return 'kind' in reader && reader.kind === 'sql';
}

/** Registers an event key's public half for verifiers; run as the owner (the runtime role may only read). */
export async function registerEventKey(client: pg.ClientBase | pg.Pool, key: ReceiptKey): Promise<void> {
  await client.query(
    'INSERT INTO audit_event_keys (kid, public_jwk) VALUES ($1, $2) ON CONFLICT (kid) DO NOTHING',
    [key.kid, JSON.stringify(key.publicJwk)],
  );
}

/**
 * The select-list of one statement that reads a request's chain events (in seq order) and the
 * event keys they are checked with, as three columns (chain_events, event_keys, signed_from) that
 * `requestChainFromColumns` reads. `requestId` is the SQL of the request's id (a parameter or a
 * column), `typesParam` the parameter holding VERDICT_EVENT_TYPES.
 */
export function requestChainColumnsSql(requestId: string, typesParam: string): string {
  return `(SELECT coalesce(json_agg(json_build_object('seq', e.seq::text, 'hash', e.hash, 'type', e.type,
                  'actor', e.actor, 'payload', e.payload, 'at', e.occurred_at, 'signature', e.signature)
                  ORDER BY e.seq), '[]'::json)
             FROM audit_events e
            WHERE e.request_id = ${requestId}
              AND (e.type IN ('request.created', 'decision.recorded', 'request.escalated')
                   OR e.type = ANY(${typesParam}::text[]))) AS chain_events,
          (SELECT coalesce(json_agg(json_build_object('kid', k.kid, 'public_jwk', k.public_jwk)), '[]'::json)
             FROM audit_event_keys k) AS event_keys,
          (SELECT s.seq::text FROM audit_signing_start s WHERE s.id = 1) AS signed_from`;
}

/** Reads one request's chain columns (requestChainColumnsSql) in one statement. */
export async function readRequestChainColumns(
  tx: SqlSource,
  requestId: string,
  verdictTypes: readonly string[],
): Promise<unknown> {
  const [row] = await runSql(tx, `SELECT ${requestChainColumnsSql('$1::uuid', '$2')}`, [
    requestId,
    verdictTypes,
  ]);
  return row;
}

/** Every registered event key's kid and public JWK, oldest first (the JWK as stored, unchecked). */
export function listEventKeys(db: Pick<Database, 'pool'>): Promise<{ kid: unknown; public_jwk: unknown }[]> {
  return runSql(db, 'SELECT kid, public_jwk FROM audit_event_keys ORDER BY created_at, kid');
}
