// /scim/v2: the identity provider's provisioning client (Okta, Microsoft Entra) keeps the directory
// of people and groups that policies name as `idp:<group>`. This door only translates SCIM to the
// directory store (directory/); errors are SCIM error bodies with their `scimType`.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { HttpContext } from '../route.ts';
import { createGroup, patchGroupById, removeGroup, replaceGroup } from '../../directory/scim-group-store.ts';
import {
  getGroup,
  getUser,
  GROUP_FILTERS,
  listGroups,
  listUsers,
  USER_FILTERS,
} from '../../directory/scim-reads.ts';
import { createUser, patchUserById, removeUser, replaceUser } from '../../directory/scim-user-store.ts';
import { ScimError } from '../../directory/scim-error.ts';
import { parseFilter } from '../../directory/scim-filter.ts';
import {
  groupInSchema,
  groupOut,
  LIST_SCHEMA,
  parseScim,
  patchSchema,
  userInSchema,
  userOut,
} from '../../directory/scim-resources.ts';
import { authenticateScimToken } from '../../directory/scim-tokens.ts';
import { MAX_RESULTS, resourceTypes, schemas, serviceProviderConfig } from './scim-discovery.ts';

export const SCIM_PATH = '/scim/v2';
const SCIM_CONTENT_TYPE = 'application/scim+json';

const listQuery = z.looseObject({
  filter: z.string().max(1000).optional(),
  startIndex: z.coerce.number().int().optional(),
  count: z.coerce.number().int().optional(),
  excludedAttributes: z.string().optional(),
});

type Handler = (req: Request, res: Response, actor: string) => Promise<void> | void;

export function createScimRouter(ctx: HttpContext, publicUrl: string | undefined): Router {
  const db = ctx.deps.db;
  const prisma = db.prisma;
  const basePath = `${publicUrl?.replace(/\/$/, '') ?? ''}${SCIM_PATH}`;
  const router = express.Router();
  const send = (res: Response, status: number, body?: unknown): void => {
    res.status(status).type(SCIM_CONTENT_TYPE);
    if (body === undefined) res.end();
    else res.send(JSON.stringify(body));
  };
  const actors = new WeakMap<Request, string>();
  const handle =
    (handler: Handler) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        await handler(req, res, actors.get(req) ?? 'scim');
      } catch (error) {
        next(error);
      }
    };

  router.use(SCIM_PATH, async (req, res, next) => {
    try {
      const token = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
      const holder = token ? await authenticateScimToken(prisma, token) : null;
      if (!holder) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="countersign-scim"');
        throw new ScimError(
          401,
          'send a SCIM token made by `countersign scim token create` as a Bearer token',
        );
      }
      actors.set(req, `scim:${holder.name}`);
      next();
    } catch (error) {
      next(error);
    }
  });
  router.use(SCIM_PATH, express.json({ type: [SCIM_CONTENT_TYPE, 'application/json'], limit: '1mb' }));

  const page = (req: Request, allowed: readonly string[]) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success) throw new ScimError(400, 'startIndex and count must be integers', 'invalidValue');
    const { filter, startIndex, count } = query.data;
    return {
      filters: filter ? parseFilter(filter, allowed) : [],
      startIndex: Math.max(1, startIndex ?? 1),
      count: Math.min(MAX_RESULTS, Math.max(0, count ?? 100)),
      withMembers: withMembers(req),
    };
  };
  const list = (resources: unknown[], total: number, startIndex: number) => ({
    schemas: [LIST_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  });
  const withMembers = (req: Request): boolean => {
    const excluded = listQuery.safeParse(req.query).data?.excludedAttributes ?? '';
    return !excluded.split(',').some((a) => a.trim().toLowerCase() === 'members');
  };

  const at = (path: string) => `${SCIM_PATH}${path}`;
  router.get(
    at('/ServiceProviderConfig'),
    handle((_req, res) => send(res, 200, serviceProviderConfig(basePath))),
  );
  router.get(
    at('/Schemas'),
    handle((_req, res) => {
      const all = schemas(basePath);
      send(res, 200, list(all, all.length, 1));
    }),
  );
  router.get(
    at('/ResourceTypes'),
    handle((_req, res) => {
      const all = resourceTypes(basePath);
      send(res, 200, list(all, all.length, 1));
    }),
  );

  router.get(
    at('/Users'),
    handle(async (req, res) => {
      const { filters, startIndex, count } = page(req, USER_FILTERS);
      const found = await listUsers(db, filters, startIndex, count);
      send(
        res,
        200,
        list(
          found.rows.map((row) => userOut(row, basePath)),
          found.total,
          startIndex,
        ),
      );
    }),
  );
  router.get(
    at('/Users/:id'),
    handle(async (req, res) => {
      send(res, 200, userOut(await getUser(db, String(req.params['id'])), basePath));
    }),
  );
  router.post(
    at('/Users'),
    handle(async (req, res, actor) => {
      const row = await createUser(db, parseScim(userInSchema, req.body), actor);
      res.setHeader('Location', `${basePath}/Users/${row.id}`);
      send(res, 201, userOut(row, basePath));
    }),
  );
  router.put(
    at('/Users/:id'),
    handle(async (req, res, actor) => {
      const row = await replaceUser(db, String(req.params['id']), parseScim(userInSchema, req.body), actor);
      send(res, 200, userOut(row, basePath));
    }),
  );
  router.patch(
    at('/Users/:id'),
    handle(async (req, res, actor) => {
      const { Operations } = parseScim(patchSchema, req.body);
      const row = await patchUserById(db, String(req.params['id']), Operations, actor);
      send(res, 200, userOut(row, basePath));
    }),
  );
  router.delete(
    at('/Users/:id'),
    handle(async (req, res, actor) => {
      await removeUser(db, String(req.params['id']), actor);
      send(res, 204);
    }),
  );

  router.get(
    at('/Groups'),
    handle(async (req, res) => {
      const query = page(req, GROUP_FILTERS);
      const found = await listGroups(db, query.filters, query.startIndex, query.count);
      send(
        res,
        200,
        list(
          found.rows.map((row) => groupOut(row, basePath, query.withMembers)),
          found.total,
          query.startIndex,
        ),
      );
    }),
  );
  router.get(
    at('/Groups/:id'),
    handle(async (req, res) => {
      send(res, 200, groupOut(await getGroup(db, String(req.params['id'])), basePath, withMembers(req)));
    }),
  );
  router.post(
    at('/Groups'),
    handle(async (req, res, actor) => {
      const row = await createGroup(db, parseScim(groupInSchema, req.body), actor);
      res.setHeader('Location', `${basePath}/Groups/${row.id}`);
      send(res, 201, groupOut(row, basePath, true));
    }),
  );
  router.put(
    at('/Groups/:id'),
    handle(async (req, res, actor) => {
      const row = await replaceGroup(db, String(req.params['id']), parseScim(groupInSchema, req.body), actor);
      send(res, 200, groupOut(row, basePath, true));
    }),
  );
  router.patch(
    at('/Groups/:id'),
    handle(async (req, res, actor) => {
      const { Operations } = parseScim(patchSchema, req.body);
      await patchGroupById(db, String(req.params['id']), Operations, actor);
      // Entra expects 204 for membership changes; Okta accepts it too.
      send(res, 204);
    }),
  );
  router.delete(
    at('/Groups/:id'),
    handle(async (req, res, actor) => {
      await removeGroup(db, String(req.params['id']), actor);
      send(res, 204);
    }),
  );

  router.use(SCIM_PATH, (_req: Request, _res: Response, next: NextFunction) => {
    next(new ScimError(404, 'no such SCIM endpoint'));
  });
  router.use(SCIM_PATH, (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (error instanceof ScimError) {
      send(res, error.status, error.body());
      return;
    }
    const status = (error as { status?: unknown; type?: unknown }).status;
    if (status === 400 || status === 413 || status === 415) {
      // body-parser: malformed JSON, too large, or a charset it cannot read.
      send(
        res,
        status,
        new ScimError(status === 413 ? 413 : 400, String((error as Error).message), 'invalidSyntax').body(),
      );
      return;
    }
    next(error);
  });
  return router;
}
