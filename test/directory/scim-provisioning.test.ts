// SCIM 2.0 at /scim/v2 driven with the request sequences Okta and Microsoft Entra provisioning
// send (shapes from their documentation, as ../shared/docs/platform-facts-round3.md records them),
// on two replicas sharing one database: an `idp:` group makes its members eligible, and a person
// the identity provider deactivates or removes is refused as deprovisioned on both at once — even
// where the policy lists them by email.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { createScimToken } from '../../apps/server/src/directory/scim-tokens.ts';
import { withPgClient } from '../support/api-fixtures.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, expectAppError, testDeps } from '../support/use-case-fixtures.ts';

const POLICY = `rules:
  - name: data-exports
    actions: ["db.export"]
    approvers: [idp:Data Owners]
  - name: deploys
    actions: ["deploy.*"]
    approvers: [erin@example.com, frank@example.com]
`;

const OKTA = { 'user-agent': 'Okta SCIM Client 1.0.0' };
const SCIM_JSON = 'application/scim+json';

interface ScimResponse {
  status: number;
  contentType: string | null;
  body: Record<string, unknown> | null;
}

describe('SCIM provisioning on two replicas', { timeout: 240_000 }, () => {
  let policy: TempPolicyFile;
  let a: TestServer;
  let b: TestServer;
  let token: string;
  let apiKey: string;

  beforeAll(async () => {
    policy = await writeTempPolicy(POLICY);
    a = await startTestServer({ env: { COUNTERSIGN_POLICY: policy.path } });
    b = await startTestServer({ env: { COUNTERSIGN_POLICY: policy.path }, database: a.database });
    token = (await createScimToken(a.server.db, { name: 'okta', actor: 'test' })).token;
    apiKey = (await a.createKey('pipeline')).key;
  });
  afterAll(async () => {
    await b?.server.close();
    await a?.close();
    await policy?.remove();
  });

  async function scim(
    server: TestServer,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ScimResponse> {
    const response = await fetch(`${server.url}/scim/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': SCIM_JSON } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    };
  }

  async function createRequest(
    action: string,
    requester = 'alice@example.com',
  ): Promise<{ id: string; approvers: string[] }> {
    const response = await a.call<{ id: string; approvers: string[] }>('POST', '/v1/approvals', {
      key: apiKey,
      body: { action, requester: { email: requester }, context: { table: 'users' } },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  }

  function decide(
    server: TestServer,
    requestId: string,
    email: string,
    verdict: 'approve' | 'deny' = 'approve',
  ) {
    return recordDecision(testDeps(server.server.db, { clock: systemClock }), {
      requestId,
      verdict,
      approver: approver(email),
    });
  }

  async function directoryEvents(): Promise<
    { type: string; actor: string; payload: Record<string, unknown> }[]
  > {
    return withPgClient(a.database.url, async (client) => {
      const { rows } = await client.query<{ type: string; actor: string; payload: Record<string, unknown> }>(
        `SELECT type, actor, payload FROM audit_events WHERE type LIKE 'directory.%' ORDER BY seq`,
      );
      return rows;
    });
  }

  it('Okta: existence check, create, group push, membership, deactivate, remove member, rename', async () => {
    const missing = await scim(
      a,
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "dana@example.com"')}&startIndex=1&count=100`,
      undefined,
      OKTA,
    );
    expect(missing.status).toBe(200);
    expect(missing.contentType).toContain(SCIM_JSON);
    expect(missing.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });

    const created = await scim(
      a,
      'POST',
      '/Users',
      {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: 'dana@example.com',
        name: { givenName: 'Dana', familyName: 'Owner' },
        emails: [{ primary: true, value: 'dana@example.com', type: 'work' }],
        displayName: 'Dana Owner',
        locale: 'en-US',
        externalId: '00u1okta',
        groups: [],
        password: { value: 'not-kept' },
        active: true,
      },
      OKTA,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const danaId = String(created.body?.['id']);
    expect(created.body).toMatchObject({
      userName: 'dana@example.com',
      active: true,
      externalId: '00u1okta',
    });
    expect(JSON.stringify(created.body)).not.toContain('not-kept');

    const found = await scim(
      b,
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "DANA@example.com"')}`,
    );
    expect(found.body).toMatchObject({ totalResults: 1, Resources: [{ id: danaId }] });

    const group = await scim(
      a,
      'POST',
      '/Groups',
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Data Owners', members: [] },
      OKTA,
    );
    expect(group.status).toBe(201);
    const groupId = String(group.body?.['id']);

    // Before the membership: dana is not eligible for a request naming the group.
    const early = await createRequest('db.export');
    expect(early.approvers).toEqual(['idp:Data Owners']);
    await expectAppError(decide(b, early.id, 'dana@example.com'), 'NOT_ELIGIBLE');

    const added = await scim(a, 'PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'add', path: 'members', value: [{ value: danaId, display: 'dana@example.com' }] }],
    });
    expect(added.status).toBe(204);

    // Eligible through the group on the other replica, at once; the chain says why.
    const first = await createRequest('db.export');
    const decided = await decide(b, first.id, 'dana@example.com');
    expect(decided.verdict).toBe('approved');
    const [decision] = await withPgClient(
      a.database.url,
      async (client) =>
        (
          await client.query<{ payload: Record<string, unknown> }>(
            `SELECT payload FROM audit_events WHERE type = 'decision.recorded' AND request_id = $1`,
            [first.id],
          )
        ).rows,
    );
    expect(decision?.payload).toMatchObject({ eligibleThrough: 'idp:Data Owners' });

    // Okta deactivates (no path, object value): refused on both replicas, as deprovisioned.
    const second = await createRequest('db.export');
    const deactivated = await scim(a, 'PATCH', `/Users/${danaId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body).toMatchObject({ active: false });
    await expectAppError(decide(a, second.id, 'dana@example.com'), 'DEPROVISIONED');
    await expectAppError(decide(b, second.id, 'dana@example.com'), 'DEPROVISIONED');
    // Soft-deleted users are still returned by GET.
    expect((await scim(b, 'GET', `/Users/${danaId}`)).body).toMatchObject({ id: danaId, active: false });

    // Reactivated with a full PUT (as Okta's custom apps send): eligible again.
    const put = await scim(a, 'PUT', `/Users/${danaId}`, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id: danaId,
      userName: 'dana@example.com',
      emails: [{ primary: true, value: 'dana@example.com', type: 'work' }],
      active: true,
    });
    expect(put.status).toBe(200);

    // Membership removed by filter path, then the group renamed as Okta sends it.
    const removed = await scim(a, 'PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: `members[value eq "${danaId}"]` }],
    });
    expect(removed.status).toBe(204);
    await expectAppError(decide(b, second.id, 'dana@example.com'), 'NOT_ELIGIBLE');
    const renamed = await scim(a, 'PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { id: groupId, displayName: 'Data Stewards' } }],
    });
    expect(renamed.status).toBe(204);
    expect((await scim(b, 'GET', `/Groups/${groupId}`)).body).toMatchObject({
      displayName: 'Data Stewards',
      members: [],
    });

    const events = await directoryEvents();
    expect(events.map((e) => e.type)).toEqual([
      'directory.user.created',
      'directory.group.created',
      'directory.member.added',
      'directory.user.deactivated',
      'directory.user.reactivated',
      'directory.member.removed',
      'directory.group.renamed',
    ]);
    expect(events.every((e) => e.actor === 'scim:okta')).toBe(true);
    expect(events[2]?.payload).toMatchObject({
      group: 'Data Owners',
      userId: danaId,
      email: 'dana@example.com',
    });
  });

  it('Entra: create with the enterprise extension, Add members, "False" deactivation, legacy Remove, DELETE', async () => {
    const user = await scim(a, 'POST', '/Users', {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      ],
      externalId: 'erin',
      userName: 'erin@example.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'erin@example.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'Erin E', familyName: 'E', givenName: 'Erin' },
      roles: [],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Security' },
    });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    const erinId = String(user.body?.['id']);

    const group = await scim(a, 'POST', '/Groups', {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:Group',
        'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
      ],
      externalId: 'g-sec',
      displayName: 'Security',
    });
    expect(group.status).toBe(201);
    const groupId = String(group.body?.['id']);
    const listed = await scim(
      b,
      'GET',
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Security"')}`,
    );
    expect(listed.body).toMatchObject({
      totalResults: 1,
      Resources: [{ id: groupId, displayName: 'Security' }],
    });
    expect((listed.body?.['Resources'] as Record<string, unknown>[])[0]).not.toHaveProperty('members');

    const add = await scim(a, 'PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: erinId }] }],
    });
    expect(add.status).toBe(204);
    expect((await scim(b, 'GET', `/Groups/${groupId}`)).body).toMatchObject({ members: [{ value: erinId }] });

    // Erin is listed by email in the policy: a deactivation still fails closed.
    const deploy = await createRequest('deploy.prod');
    const deactivate = await scim(a, 'PATCH', `/Users/${erinId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(deactivate.status).toBe(200);
    await expectAppError(decide(b, deploy.id, 'erin@example.com'), 'DEPROVISIONED');
    const refusals = await withPgClient(
      a.database.url,
      async (client) =>
        (
          await client.query<{ payload: { reason: string } }>(
            `SELECT payload FROM audit_events WHERE type = 'decision.refused' AND request_id = $1`,
            [deploy.id],
          )
        ).rows,
    );
    expect(refusals.map((r) => r.payload.reason)).toEqual(['deprovisioned']);

    const reactivate = await scim(a, 'PATCH', `/Users/${erinId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    });
    expect(reactivate.body).toMatchObject({ active: true });

    const remove = await scim(a, 'PATCH', `/Groups/${groupId}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Remove', path: 'members', value: [{ value: erinId }] }],
    });
    expect(remove.status).toBe(204);
    expect((await scim(b, 'GET', `/Groups/${groupId}`)).body).toMatchObject({ members: [] });

    // A hard delete: gone from SCIM, and decisions in that name are refused.
    expect((await scim(a, 'DELETE', `/Users/${erinId}`)).status).toBe(204);
    expect((await scim(b, 'GET', `/Users/${erinId}`)).status).toBe(404);
    await expectAppError(decide(b, deploy.id, 'erin@example.com'), 'DEPROVISIONED');
    // frank, whom the directory does not know, still decides as the policy says.
    expect((await decide(b, deploy.id, 'frank@example.com')).verdict).toBe('approved');
  });

  it('refuses bad input with SCIM errors and changes nothing', async () => {
    const before = await directoryEvents();
    const noToken = await fetch(`${a.url}/scim/v2/Users`);
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
    });
    const wrongToken = await fetch(`${a.url}/scim/v2/Users`, {
      headers: { authorization: 'Bearer scim_nope' },
    });
    expect(wrongToken.status).toBe(401);

    const cases: [string, string, unknown, number, string | undefined][] = [
      ['GET', `/Users?filter=${encodeURIComponent('userName co "dana"')}`, undefined, 400, 'invalidFilter'],
      ['GET', `/Users?filter=${encodeURIComponent('title eq "x"')}`, undefined, 400, 'invalidFilter'],
      ['POST', '/Users', { userName: 'x@example.com', favouriteColour: 'blue' }, 400, 'invalidSyntax'],
      ['POST', '/Users', { displayName: 'no userName' }, 400, 'invalidSyntax'],
      ['POST', '/Users', { userName: 'DANA@example.com' }, 409, 'uniqueness'],
      ['POST', '/Groups', { displayName: 'data stewards' }, 409, 'uniqueness'],
      [
        'PATCH',
        '/Users/00000000-0000-4000-8000-000000000000',
        {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', value: { active: false } }],
        },
        404,
        undefined,
      ],
      ['PATCH', '/Groups/not-a-uuid', { schemas: ['x'], Operations: [] }, 400, 'invalidSyntax'],
    ];
    for (const [method, path, body, status, scimType] of cases) {
      const response = await scim(a, method, path, body);
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
      expect(response.body).toMatchObject({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: String(status),
        ...(scimType ? { scimType } : {}),
      });
    }
    const users = await scim(a, 'GET', '/Users');
    const dana = (users.body?.['Resources'] as { id: string; userName: string }[]).find(
      (u) => u.userName === 'dana@example.com',
    );
    const badPath = await scim(a, 'PATCH', `/Users/${dana?.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'manager.value', value: 'x' }],
    });
    expect(badPath).toMatchObject({ status: 400, body: { scimType: 'invalidPath' } });
    const badActive = await scim(a, 'PATCH', `/Users/${dana?.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: 'maybe' }],
    });
    expect(badActive).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
    const unknownMember = await scim(a, 'POST', '/Groups', {
      displayName: 'Ghosts',
      members: [{ value: '00000000-0000-4000-8000-000000000000' }],
    });
    expect(unknownMember).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
    expect(
      (await scim(a, 'GET', `/Groups?filter=${encodeURIComponent('displayName eq "Ghosts"')}`)).body,
    ).toMatchObject({
      totalResults: 0,
    });
    expect(await directoryEvents()).toEqual(before);
  });

  it('describes itself for the provisioning client', async () => {
    const config = await scim(a, 'GET', '/ServiceProviderConfig');
    expect(config.body).toMatchObject({ patch: { supported: true }, filter: { supported: true } });
    const types = await scim(a, 'GET', '/ResourceTypes');
    expect((types.body?.['Resources'] as { id: string }[]).map((r) => r.id)).toEqual(['User', 'Group']);
    const schemas = await scim(a, 'GET', '/Schemas');
    expect(schemas.body).toMatchObject({ totalResults: 2 });
  });
});
