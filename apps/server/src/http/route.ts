// The shape of a route module: its OpenAPI contract (built from the same zod schemas it
// validates with) and a function that mounts its handler.
import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import type { StatusChangeFeed } from '../db/status-change-feed.ts';
import type { PlatformLink } from '../chat/platform-link.ts';
import type { Deps } from '../deps.ts';
import type { GatewayHost } from '../gateway/start-gateway.ts';

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

export interface Route {
  openapi: RouteConfig;
  mount(router: Router, ctx: HttpContext): void;
}

export const bearerSecurity = [{ apiKey: [] }];
