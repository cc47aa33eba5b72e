// Intake: POST /v1/approvals (policy match, masking, digest, Idempotency-Key, request row, chained
// audit event) through the real server process at 1, 8 and 32 connections, against pgbench doing
// the same writes (the request row with its idempotency key and the chained request.created event,
// in one transaction) at the same client counts.
import { randomUUID } from 'node:crypto';
import { createApiKey } from '../apps/server/src/keys/create-api-key.ts';
import { createDatabase } from '../apps/server/src/db/client.ts';
import { specExampleBody } from '../test/support/api-fixtures.ts';
import { createBenchDatabase } from './bench-database.ts';
import {
  figureBelow,
  median,
  ratioAtLeast,
  repeat,
  type BenchOptions,
  type BenchRow,
} from './lib/bench-row.ts';
import { runLoad } from './lib/http-load.ts';
import { hasPgbench, PGBENCH_MISSING, runPgbench } from './lib/pgbench.ts';
import { startServer } from './lib/server-process.ts';

const CLIENT_COUNTS = [1, 8, 32] as const;

/** The spec's example request without a chat channel or callback (neither is part of intake). */
export function intakeBody(): string {
  const { channel: _channel, callbackUrl: _callbackUrl, ...body } = specExampleBody();
  return JSON.stringify(body);
}

/** The same writes from SQL: one statement inserting the request and appending its chained event. */
export function intakeSql(clientId: string): string {
  const canonical = 'x'.repeat(420); // about the size of a request.created event's canonical JSON
  return `WITH request AS (INSERT INTO approval_requests (id, client_id, action, title, reason, requester_email, requester_name, agent, context, payload_digest, approvers, quorum, channels, idempotency_key, request_hash, expires_at)
  VALUES (gen_random_uuid(), '${clientId}', 'db.export', 'Export users table to the analytics bucket', 'Quarterly churn analysis', 'alice@example.com', 'Alice', '{"name":"analytics-agent","model":"gpt-x","runId":"run_123"}', '{"table":"users","rows":120000,"destination":"[MASKED]","token":"[MASKED]"}', md5(random()::text) || md5(random()::text), '{bob@example.com}', 1, '{}', md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text), now() + interval '1 hour')
  RETURNING id)
SELECT countersign_append_audit_events(jsonb_build_array(jsonb_build_object('type', 'request.created', 'requestId', request.id, 'actor', 'client:${clientId}', 'payload', '{"action":"db.export","requester":"alice@example.com","quorum":1}'::jsonb, 'occurredAt', now()::text, 'canonical', '${canonical}'))) FROM request;`;
}

interface Figures {
  rps: number;
  p99Ms: number;
}

export async function benchIntake({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 3 : 10;
  const bench = await createBenchDatabase();
  const db = createDatabase(bench.url, { maxConnections: 2 });
  const server = await startServer({ databaseUrl: bench.url });
  try {
    const { key, clientId } = await createApiKey(db, { name: 'bench' });
    const load = (connections: number, duration: number) =>
      runLoad({
        url: `${server.url}/v1/approvals`,
        method: 'POST',
        connections,
        seconds: duration,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        requestHeaders: () => ({ 'idempotency-key': randomUUID() }),
        body: intakeBody,
      });
    const warm = await load(8, quick ? 2 : 5);
    if (warm.ok === 0)
      throw new Error(`intake warm-up created nothing (${warm.non2xx} non-2xx, ${warm.errors} errors)`);

    const service = new Map<number, Figures>();
    const database = new Map<number, Figures>();
    const pgbench = hasPgbench();
    for (const clients of CLIENT_COUNTS) {
      const runs = await repeat(rounds, async () => {
        const result = await load(clients, seconds);
        if (result.non2xx > 0 || result.errors > 0)
          console.log(`   intake@${clients}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        return result;
      });
      service.set(clients, { rps: median(runs.map((r) => r.rps)), p99Ms: median(runs.map((r) => r.p99Ms)) });
      if (pgbench) {
        const baseline = await repeat(rounds, () =>
          Promise.resolve(runPgbench({ url: bench.url, script: intakeSql(clientId), clients, seconds })),
        );
        database.set(clients, {
          rps: median(baseline.map((r) => r.tps)),
          p99Ms: median(baseline.map((r) => r.p99Ms)),
        });
      }
      const s = service.get(clients) as Figures;
      const d = database.get(clients);
      console.log(
        `   intake@${clients}: ${s.rps.toFixed(0)} req/s p99 ${s.p99Ms.toFixed(0)} ms` +
          (d ? `; pgbench ${d.rps.toFixed(0)} tps p99 ${d.p99Ms.toFixed(1)} ms` : ''),
      );
    }

    const note = pgbench ? 'baseline: pgbench, the same writes at the same client count' : PGBENCH_MISSING;
    const row = (clients: number) => {
      const figure = (service.get(clients) as Figures).rps;
      const baseline = database.get(clients)?.rps ?? null;
      const ratio = baseline ? figure / baseline : null;
      return {
        name: `intake@${clients}`,
        figure,
        unit: 'req/s',
        baseline,
        ratio,
        note,
        goal: 'ratio noted',
        pass: null,
      };
    };
    const at8 = service.get(8) as Figures;
    return [
      row(1),
      row(8),
      figureBelow(
        {
          name: 'intake@8 p99',
          figure: at8.p99Ms,
          unit: 'ms',
          baseline: database.get(8)?.p99Ms ?? null,
          note,
        },
        50,
      ),
      ratioAtLeast({ ...row(32), name: 'intake' }, 0.4, 'pgbench'),
    ];
  } finally {
    await server.stop();
    await db.close();
    await bench.drop();
  }
}
