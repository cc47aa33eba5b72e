// GET /healthz (the process answers) and GET /readyz (database reachable, migrations applied; the
// chat platforms' link states as detail, which do not make the server unready).
import { z } from 'zod';
import { pendingMigrationsOf } from '../../db/migrate.ts';
import { AppError } from '../../errors.ts';
import { problemResponse } from '../contracts/problem.ts';
import type { Route } from '../route.ts';

const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const chatLinkSchema = z
  .object({
    mode: z
      .enum(['http', 'socket'])
      .meta({ description: 'HTTP request URL, or a socket we opened (Slack Socket Mode)' }),
    connected: z.boolean().meta({ description: 'False while a socket is down, and once revoked' }),
    revoked: z.object({ reason: z.string(), at: z.string() }).optional().meta({
      description:
        'The app was uninstalled or its token revoked (app_uninstalled, tokens_revoked, invalid_auth, …)',
    }),
  })
  .meta({ id: 'ChatLinkStatus' });
const readySchema = z
  .object({
    status: z.literal('ready'),
    gateway: z
      .record(z.string(), z.object({ healthy: z.boolean(), error: z.string().optional() }))
      .optional()
      .meta({
        description:
          'Per downstream MCP server of the gateway file. An unhealthy server does not make the server unready; its tools answer with an error naming it.',
      }),
    chat: z.record(z.string(), chatLinkSchema).optional().meta({
      description:
        'Per configured chat platform. A revoked or disconnected platform does not make the server unready: the API and the other platforms still work.',
    }),
  })
  .meta({ id: 'Ready' });

export const healthRoute: Route = {
  method: 'get',
  path: '/healthz',
  scope: 'public',
  contract: {
    operationId: 'getHealth',
    summary: 'Liveness: the process is up',
    responses: {
      200: { description: 'Up', content: { 'application/json': { schema: healthSchema } } },
      '4XX': problemResponse('Any client error, as problem+json'),
    },
  },
  handlers() {
    return [
      (_req, res) => {
        res.json({ status: 'ok' });
      },
    ];
  },
};

export const readyRoute: Route = {
  method: 'get',
  path: '/readyz',
  scope: 'public',
  contract: {
    operationId: 'getReadiness',
    summary: 'Readiness: database reachable and all migrations applied',
    responses: {
      200: { description: 'Ready', content: { 'application/json': { schema: readySchema } } },
      '4XX': problemResponse('Any client error, as problem+json'),
      503: problemResponse('Not ready, or shutting down'),
    },
  },
  handlers(ctx) {
    return [
      async (_req, res) => {
        if (ctx.shutdown.aborted)
          throw new AppError('SHUTTING_DOWN', { detail: 'the server is shutting down' });
        let pending: string[];
        try {
          pending = await pendingMigrationsOf(ctx.deps.db);
        } catch (error) {
          throw new AppError('NOT_READY', { detail: 'the database is not reachable', cause: error });
        }
        if (pending.length > 0) {
          throw new AppError('NOT_READY', { detail: `migrations not applied: ${pending.join(', ')}` });
        }
        const links = ctx.chatLinks ?? [];
        const body: z.infer<typeof readySchema> = { status: 'ready' };
        if (links.length > 0) body.chat = Object.fromEntries(links.map((l) => [l.platform, l.status()]));
        if (ctx.gateway) {
          body.gateway = Object.fromEntries(
            ctx.gateway.downstream
              .health()
              .map((h) => [h.server, { healthy: h.healthy, ...(h.error ? { error: h.error } : {}) }]),
          );
        }
        res.json(body);
      },
    ];
  },
};
