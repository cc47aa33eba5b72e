// The express application: request ids and logging, metrics, the routes, and the error boundary.
import { randomUUID } from 'node:crypto';
import express, { type Express, type Router } from 'express';
import { pinoHttp } from 'pino-http';
import { redactQueryObject, redactQueryString, type Logger } from '../observability/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { problemHandler, routeNotFound } from './problem.ts';
import { mountRoute, type HttpContext, type Route } from './route.ts';
import { cancelApprovalRoute } from './routes/approvals.cancel.ts';
import { createApprovalRoute } from './routes/approvals.create.ts';
import { getApprovalRoute } from './routes/approvals.get.ts';
import { listApprovalsRoute } from './routes/approvals.list.ts';
import { reportAuditRoute } from './routes/audit.report.ts';
import { verifyAuditRoute } from './routes/audit.verify.ts';
import { listDeliveriesRoute } from './routes/deliveries.list.ts';
import { retryDeliveryRoute } from './routes/deliveries.retry.ts';
import { healthRoute, readyRoute } from './routes/health.ts';
import { receiptKeysRoute } from './routes/keys.receipt.ts';
import { eventKeysRoute } from './routes/keys.events.ts';
import { recordExecutionRoute } from './routes/approvals.execution.ts';
import { createMcpRouter } from '../mcp/mount-mcp.ts';
import { createInterceptorRouter } from '../gateway/mount-interceptor.ts';
import { clientScriptRoute } from './routes/cli.client.ts';
import { createScimRouter } from './scim/scim-router.ts';
import { recordGatewayCallRoute } from './routes/gateway.calls.create.ts';
import { proposePolicyRoute } from './routes/policy.proposals.create.ts';
import { getPolicyVersionRoute, listPolicyVersionsRoute } from './routes/policy.versions.ts';
import { listGrantsRoute, revokeGrantRoute } from './routes/grants.ts';
import { createDelegationRoute, listDelegationsRoute, removeDelegationRoute } from './routes/delegations.ts';

export const ROUTES: Route[] = [
  createApprovalRoute,
  listApprovalsRoute,
  getApprovalRoute,
  cancelApprovalRoute,
  listDeliveriesRoute,
  retryDeliveryRoute,
  verifyAuditRoute,
  reportAuditRoute,
  healthRoute,
  readyRoute,
  receiptKeysRoute,
  eventKeysRoute,
  recordExecutionRoute,
  clientScriptRoute,
  recordGatewayCallRoute,
  proposePolicyRoute,
  listPolicyVersionsRoute,
  getPolicyVersionRoute,
  listGrantsRoute,
  revokeGrantRoute,
  createDelegationRoute,
  listDelegationsRoute,
  removeDelegationRoute,
];

const INCOMING_REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface HttpAppOptions {
  ctx: HttpContext;
  metrics: Metrics;
  log: Logger;
  version: string;
  /** Chat platform endpoints (Slack's /slack/events), mounted before the API routes. */
  chatRouters?: Router[];
  /** The MCP gateway's /gateway/mcp (gateway/mount-gateway.ts), when COUNTERSIGN_GATEWAY is set. */
  gatewayRouter?: Router | undefined;
  /** The web console (apps/server/src/web); it only takes its own paths. */
  webRouter?: Router;
  /** COUNTERSIGN_PUBLIC_URL, for the absolute locations SCIM answers carry. */
  publicUrl?: string | undefined;
}

export function createHttpApp({
  ctx,
  metrics,
  log,
  version,
  chatRouters = [],
  gatewayRouter,
  webRouter,
  publicUrl,
}: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(
    pinoHttp({
      logger: log,
      genReqId(req, res) {
        const incoming = req.headers['x-request-id'];
        const id =
          typeof incoming === 'string' && INCOMING_REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      serializers: {
        // Tokens in query strings (?token=xoxb-…&api_key=cs_…) never reach the log.
        req(req: { url?: string; query?: unknown }) {
          return { ...req, url: req.url && redactQueryString(req.url), query: redactQueryObject(req.query) };
        },
      },
      customLogLevel(_req, res, error) {
        // 503 is an outage or a shutdown the problem handler already logged at warn.
        if (error || (res.statusCode >= 500 && res.statusCode !== 503)) return 'error';
        return res.statusCode >= 400 ? 'warn' : 'info';
      },
    }),
  );
  app.use(metrics.middleware);

  for (const chatRouter of chatRouters) app.use(chatRouter);
  app.use(createScimRouter(ctx, publicUrl));
  app.use(createMcpRouter(ctx));
  if (gatewayRouter) app.use(gatewayRouter);
  app.use(createInterceptorRouter(ctx));
  if (webRouter) app.use(webRouter);
  const router = express.Router();
  for (const route of ROUTES) mountRoute(router, route, ctx);
  app.use(router);

  const openapi = buildOpenApiDocument(ROUTES, version);
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(routeNotFound);
  app.use(problemHandler);
  return app;
}
