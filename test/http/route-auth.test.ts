// The auth cases, run over every route of the API by reading the route table itself: a new route is
// covered the moment it joins ROUTES, and this file fails until it has a case here. For a keyed route:
// no key → 401 API_KEY_MISSING, a revoked key → 401 API_KEY_REVOKED, a key with every scope but the
// route's → 403 INSUFFICIENT_SCOPE, and, where the path names a request, another client's request id →
// 404 NOT_FOUND; none of them changes anything stored. The owner's key then gets through, which shows
// the refusals came from the key and not from the input. A public route answers without a key.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../../apps/server/src/http/app.ts';
import { SCOPES, type Scope } from '../../apps/server/src/keys/scopes.ts';
import { revokeApiKey } from '../../apps/server/src/keys/revoke-api-key.ts';
import type { Route } from '../../apps/server/src/http/route.ts';
import { createApproval, expectProblem, snapshotData } from '../support/api-fixtures.ts';
import { decide, listDeliveries } from '../support/delivery-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const ALL_BUT_ADMIN = SCOPES.filter((s) => s !== 'admin');

interface RouteCase {
  /** Path parameters, made fresh for the owning client (a route naming `{id}` must give one). */
  params?: (owner: string) => Promise<Record<string, string>>;
  body?: unknown;
  /** What the owner's key gets: any answer here means the key and scope reached the handler. */
  ok: number[];
}

let t: TestServer;

async function ownRequest(owner: string): Promise<Record<string, string>> {
  return { id: (await createApproval(t, owner)).id };
}

/** A request decided by a person, so it has a callback delivery of its own. */
async function ownDelivery(owner: string): Promise<Record<string, string>> {
  const created = await createApproval(t, owner, { callbackUrl: 'https://203.0.113.10/hooks/countersign' });
  await decide(t.server.db, created.id, 'approve');
  const [delivery] = await listDeliveries(t, owner, created.id);
  if (!delivery) throw new Error('the decided request has no delivery');
  return { id: created.id, deliveryId: delivery.id };
}

/** One entry per operationId in ROUTES; the first test fails when one is missing or left over. */
const CASES: Record<string, RouteCase> = {
  createApproval: {
    body: { action: 'db.export', requester: { email: 'alice@example.com' } },
    ok: [201],
  },
  listApprovals: { ok: [200] },
  getApproval: { params: ownRequest, ok: [200] },
  cancelApproval: { params: ownRequest, ok: [200] },
  listDeliveries: { params: ownDelivery, ok: [200] },
  // Pending while the worker tries the unreachable callback, failed once it gives up: either way found.
  retryDelivery: { params: ownDelivery, ok: [202, 409] },
  recordApprovalExecution: {
    params: ownRequest,
    body: { payloadDigest: DIGEST, outcome: 'started' },
    ok: [409], // EXECUTION_NOT_APPROVED: the request is still pending
  },
  verifyAuditChain: { ok: [200] },
  getAuditReport: { ok: [200] },
  recordGatewayCall: {
    body: {
      server: 'files',
      tool: 'read_file',
      requester: 'alice@example.com',
      agent: null,
      payloadDigest: DIGEST,
      isError: false,
      resultDigest: DIGEST,
      error: null,
      secrets: [],
    },
    ok: [201],
  },
  // The built-in policy has no policy-admins group: the handler refuses the proposal with 422.
  proposePolicy: { body: { policy: 'rules: []\n' }, ok: [422] },
  // The policy's versions are the deployment's: no policy file is configured, so none is stored.
  listPolicyVersions: { ok: [200] },
  getPolicyVersion: { params: () => Promise.resolve({ version: '1' }), ok: [404] },
  listGrants: { ok: [200] },
  // An admin key sees every client's grants, so no grant belongs to "another client"; an unknown id is 404.
  revokeGrant: { params: () => Promise.resolve({ id: randomUUID() }), ok: [404] },
  // Delegations are the deployment's, not a client's: an unknown id is 404, a bad body 422.
  createDelegation: { body: {}, ok: [422] },
  listDelegations: { ok: [200] },
  removeDelegation: { params: () => Promise.resolve({ id: randomUUID() }), ok: [404] },
  getHealth: { ok: [200] },
  getReadiness: { ok: [200] },
  getReceiptKeys: { ok: [200] },
  getEventKeys: { ok: [200] },
  getClientScript: { ok: [200] },
};

function operationId(route: Route): string {
  const id = route.contract.operationId;
  if (!id) throw new Error(`${route.method.toUpperCase()} ${route.path} has no operationId`);
  return id;
}

function pathWith(route: Route, params: Record<string, string>): string {
  return route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (!value) throw new Error(`the case for ${operationId(route)} gives no {${name}}`);
    return value;
  });
}

describe('authentication over every route of the API', () => {
  let owner: string;
  /** The owner's key with admin too, for the routes that need it. */
  let ownerAdmin: string;
  let other: string;
  let revoked: string;
  beforeAll(async () => {
    t = await startTestServer();
    owner = (await t.createKey('owner', ALL_BUT_ADMIN)).key;
    ownerAdmin = (await t.createKey('owner with admin', [...SCOPES])).key;
    other = (await t.createKey('another client', ALL_BUT_ADMIN)).key;
    const toRevoke = await t.createKey('revoked', ALL_BUT_ADMIN);
    await revokeApiKey(t.server.db, toRevoke.id);
    revoked = toRevoke.key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('has exactly one case for every route in the table', () => {
    const ids = ROUTES.map(operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(Object.keys(CASES).sort());
    for (const route of ROUTES) {
      if (route.path.includes('{'))
        expect(CASES[operationId(route)]?.params, operationId(route)).toBeDefined();
    }
  });

  it.each(ROUTES.map((route) => [`${route.method.toUpperCase()} ${route.path}`, route] as const))(
    '%s',
    { timeout: 60_000 },
    async (_name, route) => {
      const routeCase = CASES[operationId(route)];
      if (!routeCase) throw new Error(`no case for ${operationId(route)}`);
      const method = route.method.toUpperCase();
      const path = pathWith(route, routeCase.params ? await routeCase.params(owner) : {});
      const send = (key: string | undefined) =>
        t.call(method, path, { key, ...(routeCase.body === undefined ? {} : { body: routeCase.body }) });

      if (route.scope === 'public') {
        // Nothing reads a key here: none, or a revoked one, makes no difference.
        expect(routeCase.ok).toContain((await send(undefined)).status);
        expect(routeCase.ok).toContain((await send(revoked)).status);
        return;
      }

      const scope: Scope = route.scope;
      const wrongScope = (
        await t.createKey(
          `without ${scope}`,
          // admin implies every scope, so a key missing a scope never has admin either.
          ALL_BUT_ADMIN.filter((s) => s !== scope),
        )
      ).key;
      const before = await snapshotData(t);
      expectProblem(await send(undefined), 'API_KEY_MISSING');
      expectProblem(await send(revoked), 'API_KEY_REVOKED');
      expectProblem(await send(wrongScope), 'INSUFFICIENT_SCOPE');
      // Admin routes act across clients; the others must not find another client's {id}.
      if (route.path.includes('{id}') && scope !== 'admin') expectProblem(await send(other), 'NOT_FOUND');
      expect(await snapshotData(t)).toEqual(before);

      const answer = await send(scope === 'admin' ? ownerAdmin : owner);
      expect(routeCase.ok, JSON.stringify(answer.body)).toContain(answer.status);
    },
  );
});
