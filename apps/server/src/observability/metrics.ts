// Prometheus metrics: HTTP request counts and latencies by route, and requests by status read
// from the database at scrape time (so every replica reports the same truth).
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PrismaClient } from '../db/client.ts';

export interface Metrics {
  registry: Registry;
  middleware: RequestHandler;
}

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const;

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
