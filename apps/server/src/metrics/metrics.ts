// Prometheus metrics. HTTP requests and latencies and chat API calls are counted in this process;
// requests by status, verdicts, decisions, refusals, callback attempts and queue depth are read
// from the database at scrape time, so every replica reports the same installation-wide truth
// (aggregate those with max(), not sum()).
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CHAT_PLATFORMS } from '../approvals/channels.ts';
import type { PrismaClient } from '../db/client.ts';
import type { ChatApiCallCounter } from '../deps.ts';
import { REFUSAL_REASONS } from '../audit/event-types.ts';
import { callbackAttemptCounts, chatCardCounts, waitingJobCounts } from './metrics-store.ts';
import { createAuditEventTally } from './tally-audit-events.ts';

export interface Metrics {
  registry: Registry;
  middleware: RequestHandler;
  chatApiCalls: ChatApiCallCounter;
}

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
const CARD_STATES = ['pending', 'posted', 'failed'] as const;
const OUTCOMES = ['approved', 'denied', 'expired', 'cancelled'] as const;
const CALLBACK_RESULTS = ['success', 'gone', 'http_error', 'error'] as const;

// prom-client names these gauges `…_total`, a suffix promtool reserves for counters; the same
// values are also exported without the suffix.
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function createMetrics(db: PrismaClient): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  dropMisnamedDefaults(registry);

  const requests = new Counter({
    name: 'countersign_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'countersign_http_request_duration_seconds',
    help: 'HTTP request latency in seconds, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const chatApiCalls = new Counter({
    name: 'countersign_chat_api_calls_total',
    help: 'Calls this process made to a chat platform API, by platform, method and result',
    labelNames: ['platform', 'method', 'result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'countersign_approval_requests',
    help: 'Approval requests stored, by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const groups = await db.approvalRequest.groupBy({ by: ['status'], _count: { _all: true } });
      for (const status of STATUSES) {
        this.set({ status }, groups.find((g) => g.status === status)?._count._all ?? 0);
      }
    },
  });

  new Gauge({
    name: 'countersign_chat_cards',
    help: 'Chat cards stored, by platform and state (pending, posted, failed: refused by the platform for good)',
    labelNames: ['platform', 'status'] as const,
    registers: [registry],
    async collect() {
      const rows = await chatCardCounts(db);
      this.reset();
      for (const platform of CHAT_PLATFORMS) {
        for (const status of CARD_STATES) {
          const row = rows.find((r) => r.platform === platform && r.status === status);
          this.set({ platform, status }, Number(row?.count ?? 0));
        }
      }
    },
  });
  const tally = createAuditEventTally(db);
  new Counter({
    name: 'countersign_verdicts_total',
    help: 'Requests that reached a verdict, by outcome (from the audit log)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      const counts = await tally.read();
      this.reset();
      for (const outcome of OUTCOMES) this.inc({ outcome }, counts.verdicts[outcome] ?? 0);
    },
  });
  new Counter({
    name: 'countersign_decisions_total',
    help: 'Decisions recorded by people or by policy, by verdict (from the audit log)',
    labelNames: ['verdict'] as const,
    registers: [registry],
    async collect() {
      const counts = await tally.read();
      this.reset();
      for (const verdict of ['approve', 'deny'] as const)
        this.inc({ verdict }, counts.decisions[verdict] ?? 0);
    },
  });
  new Counter({
    name: 'countersign_refusals_total',
    help: 'Decision attempts refused, by reason (from the audit log)',
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      const counts = await tally.read();
      this.reset();
      for (const reason of REFUSAL_REASONS) this.inc({ reason }, counts.refusals[reason] ?? 0);
    },
  });
  new Counter({
    name: 'countersign_callback_attempts_total',
    help: 'Verdict callback attempts, by result: success (2xx), gone (410), http_error, error (no answer)',
    labelNames: ['result'] as const,
    registers: [registry],
    async collect() {
      const rows = await callbackAttemptCounts(db);
      this.reset();
      for (const result of CALLBACK_RESULTS) {
        this.inc({ result }, Number(rows.find((r) => r.result === result)?.count ?? 0));
      }
    },
  });
  new Gauge({
    name: 'countersign_queue_depth',
    help: 'Background jobs waiting to run (created or waiting for a retry), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      let rows: { queue: string; count: bigint }[];
      try {
        rows = await waitingJobCounts(db);
      } catch {
        return; // the queue's schema is not there yet (before the first start)
      }
      for (const row of rows) this.set({ queue: row.queue }, Number(row.count));
    },
  });

  const middleware: RequestHandler = (req, res, next) => {
    const stop = duration.startTimer();
    res.on('finish', () => {
      // The matched route pattern, not the raw path: ids must not explode label cardinality.
      const route = req.route
        ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}`
        : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      requests.inc(labels);
      stop(labels);
    });
    next();
  };
  return { registry, middleware, chatApiCalls };
}

function dropMisnamedDefaults(registry: Registry): void {
  // prom-client also exports the same values as nodejs_active_handles, …_requests, …_resources.
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
}
