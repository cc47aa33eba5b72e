// Prometheus metrics: HTTP request counts and latencies by route, and requests by status read
// from the database at scrape time (so every replica reports the same truth).
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CHAT_PLATFORMS } from '../chat/channels.ts';
import type { PrismaClient } from '../db/client.ts';

export interface Metrics {
  registry: Registry;
  middleware: RequestHandler;
}

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;
const CARD_STATES = ['pending', 'posted', 'failed'] as const;

export function createMetrics(db: PrismaClient): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

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
      const rows = await db.$queryRaw<{ platform: string; status: string; count: bigint }[]>`
        SELECT split_part(channel, ':', 1) AS platform,
               CASE WHEN failed_at IS NOT NULL THEN 'failed'
                    WHEN message_id IS NOT NULL THEN 'posted' ELSE 'pending' END AS status,
               count(*) AS count
          FROM chat_cards GROUP BY 1, 2`;
      this.reset();
      for (const platform of CHAT_PLATFORMS) {
        for (const status of CARD_STATES) {
          const row = rows.find((r) => r.platform === platform && r.status === status);
          this.set({ platform, status }, Number(row?.count ?? 0));
        }
      }
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
  return { registry, middleware };
}
