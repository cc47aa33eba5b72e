// The shape of a route module. A route says once what it is — method, path, the scope a key needs
// and its OpenAPI contract (built from the same zod schemas it validates with) — and gives the
// handlers that run after authentication. Mounting, the OpenAPI operation and the auth test all
// read these same fields, so none of them can drift from another.
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { RequestHandler, Router } from 'express';
import type { StatusChangeFeed } from '../db/status-change-feed.ts';
import type { PlatformLink } from '../chat/platform-link.ts';
import type { Deps } from '../deps.ts';
import type { GatewayHost } from '../gateway/start-gateway.ts';
import type { Scope } from '../keys/scopes.ts';
import { requireScope } from './auth.ts';
import { problemResponse } from './contracts/problem.ts';

export interface HttpContext {
  deps: Deps;
  feed: StatusChangeFeed;
  /** Aborted when the server starts shutting down; long-polls answer at once. */
  shutdown: AbortSignal;
  /** The configured chat platforms' link states, for /readyz. */
  chatLinks?: readonly PlatformLink[];
  /** The MCP gateway (COUNTERSIGN_GATEWAY), served at /gateway/mcp. */
  gateway?: GatewayHost | undefined;
}

/** The OpenAPI operation less what the route declares in its own fields. */
export type RouteContract = Omit<RouteConfig, 'method' | 'path' | 'security'>;

export interface Route {
  method: 'get' | 'post';
  /** The path in OpenAPI form (`/v1/approvals/{id}`); the express path is derived from it. */
  path: string;
  /** The scope a bearer API key needs, or `public` for a route anyone may call. */
  scope: Scope | 'public';
  contract: RouteContract;
  /** What runs once the key is authenticated and its scope checked (body parsing, the handler). */
  handlers(ctx: HttpContext): RequestHandler[];
}

/** `/v1/approvals/{id}` → `/v1/approvals/:id`. */
export function expressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

export function mountRoute(router: Router, route: Route, ctx: HttpContext): void {
  const auth = route.scope === 'public' ? [] : [requireScope(ctx.deps.db, route.scope)];
  router[route.method](expressPath(route.path), ...auth, ...route.handlers(ctx));
}

/** The route's OpenAPI operation; a keyed route answers 401 and 403 unless it says more itself. */
export function openapiOperation(route: Route): RouteConfig {
  const { responses, ...rest } = route.contract;
  const auth: RouteConfig['responses'] =
    route.scope === 'public'
      ? {}
      : {
          401: problemResponse('Missing, invalid or revoked API key'),
          403: problemResponse(`Key lacks ${route.scope}`),
        };
  return {
    ...rest,
    method: route.method,
    path: route.path,
    security: route.scope === 'public' ? [] : [{ apiKey: [] }],
    responses: { ...auth, ...responses },
  };
}
