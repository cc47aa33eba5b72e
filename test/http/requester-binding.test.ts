// Keys bound to requesters and actions (issue 21, item 1): the real server, real keys. An approver
// holding a key cannot name a colleague as requester and then approve "their" request; a bound key
// outside its requesters or actions gets a precise 403, an audited request.refused, and nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { createApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import {
  expectProblem,
  snapshotData,
  withPgClient,
  type Approval,
  type DataSnapshot,
} from '../support/api-fixtures.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, expectAppError, policyFromYaml, testDeps } from '../support/use-case-fixtures.ts';

/** Nothing stored but the refusal events: the snapshot moves only by `refusals` audit events. */
function afterRefusals(before: DataSnapshot, refusals: number): Omit<DataSnapshot, 'lastAuditSeq'> {
  const { lastAuditSeq: _seq, ...rest } = before;
  return { ...rest, auditEvents: before.auditEvents + refusals };
}

async function snapshotBesidesSeq(t: TestServer): Promise<Omit<DataSnapshot, 'lastAuditSeq'>> {
  const { lastAuditSeq: _seq, ...rest } = await snapshotData(t);
  return rest;
}

const POLICY_YAML = `groups:
  ops: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - { name: deploys, actions: ["deploy.*"], approvers: [group:ops] }
  - { name: proven-only, actions: ["prod.*"], approvers: [group:ops], requester: proven }
  - { name: rest, actions: ["*"], approvers: [group:ops] }
`;

interface StoredRow {
  requester_email: string;
  requester_proof: unknown;
}

describe('keys bound to requesters and actions', () => {
  let policyFile: TempPolicyFile;
  let t: TestServer;

  beforeAll(async () => {
    policyFile = await writeTempPolicy(POLICY_YAML);
    t = await startTestServer({ env: { COUNTERSIGN_POLICY: policyFile.path } });
  });
  afterAll(async () => {
    await t?.close();
    await policyFile?.remove();
  });

  const keyFor = async (name: string, binding: { requesters?: string[]; actions?: string[] } = {}) =>
    (await createApiKey(t.server.db, { name, ...binding })).key;

  const post = (key: string, body: Record<string, unknown>) =>
    t.call<Approval>('POST', '/v1/approvals', { key, body: { action: 'deploy.web', ...body } });

  const stored = (id: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<StoredRow>(
        'SELECT requester_email, requester_proof FROM approval_requests WHERE id = $1',
        [id],
      );
      return rows[0];
    });

  const refusals = () =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ actor: string; payload: Record<string, unknown> }>(
        `SELECT actor, payload FROM audit_events WHERE type = 'request.refused' ORDER BY seq`,
      );
      return rows;
    });

  /** The decision use case with the server's own database and the same policy. */
  const decide = (id: string, email: string) =>
    recordDecision(
      testDeps(t.server.db, { policy: policyFromYaml(POLICY_YAML), clock: { now: () => new Date() } }),
      {
        requestId: id,
        verdict: 'approve',
        approver: approver(email),
      },
    );

  it('an approver whose key is bound to him cannot name a colleague as requester: 403, audited, nothing stored', async () => {
    const bobsKey = await keyFor('bob-laptop', { requesters: ['bob@example.com'] });
    const before = await snapshotData(t);
    const refusedBefore = (await refusals()).length;

    const response = await post(bobsKey, { requester: { email: 'alice@example.com' } });

    expectProblem(response, 'REQUESTER_NOT_BOUND', ['/requester/email']);
    expect(await snapshotBesidesSeq(t)).toEqual(afterRefusals(before, 1));
    const refused = (await refusals()).slice(refusedBefore);
    expect(refused).toHaveLength(1);
    expect(refused[0]?.payload).toMatchObject({
      keyName: 'bob-laptop',
      code: 'REQUESTER_NOT_BOUND',
      action: 'deploy.web',
      requester: 'alice@example.com',
    });
  });

  it('a key bound to one requester may leave it out; that requester still cannot approve his own request', async () => {
    const bobsKey = await keyFor('bob-laptop-2', { requesters: ['Bob@Example.com'] });
    const response = await post(bobsKey, {});
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const id = response.body.id;
    expect(await stored(id)).toEqual({
      requester_email: 'bob@example.com',
      requester_proof: { kind: 'key', keyName: 'bob-laptop-2' },
    });
    await expectAppError(decide(id, 'bob@example.com'), 'SELF_APPROVAL_FORBIDDEN');
    const approved = await decide(id, 'alice@example.com');
    expect(approved.request.status).toBe('approved');
  });

  it('a bound key naming its own requester (any case) is fine; the proof says key', async () => {
    const key = await keyFor('pair', { requesters: ['alice@example.com', 'carol@example.com'] });
    const response = await post(key, { requester: { email: 'CAROL@example.com' } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(await stored(response.body.id)).toMatchObject({
      requester_email: 'carol@example.com',
      requester_proof: { kind: 'key', keyName: 'pair' },
    });
  });

  it('a key bound to several requesters must name one: 422 with the pointer, nothing stored', async () => {
    const key = await keyFor('pair-2', { requesters: ['alice@example.com', 'carol@example.com'] });
    const before = await snapshotData(t);
    expectProblem(await post(key, {}), 'VALIDATION_FAILED', ['/requester']);
    expect(await snapshotData(t)).toEqual(before);
  });

  it('an unbound key must name the requester, and the requester is recorded as claimed by that key', async () => {
    const key = await keyFor('laptop');
    expectProblem(await post(key, {}), 'VALIDATION_FAILED', ['/requester']);
    const response = await post(key, { requester: { email: 'alice@example.com' } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(await stored(response.body.id)).toEqual({
      requester_email: 'alice@example.com',
      requester_proof: { kind: 'claimed', keyName: 'laptop' },
    });
  });

  it('an action outside the key set: 403 ACTION_NOT_ALLOWED, audited, nothing stored', async () => {
    const key = await keyFor('deployer', { requesters: ['bob@example.com'], actions: ['deploy.*'] });
    const inside = await post(key, { action: 'deploy.api' });
    expect(inside.status, JSON.stringify(inside.body)).toBe(201);

    const before = await snapshotData(t);
    const refusedBefore = (await refusals()).length;
    expectProblem(await post(key, { action: 'db.export' }), 'ACTION_NOT_ALLOWED', ['/action']);
    // "deploy.*" is a glob over the whole name: "deployment.x" is not inside it.
    expectProblem(await post(key, { action: 'deployment.x' }), 'ACTION_NOT_ALLOWED', ['/action']);
    expect(await snapshotBesidesSeq(t)).toEqual(afterRefusals(before, 2));
    const refused = (await refusals()).slice(refusedBefore);
    expect(refused.map((r) => r.payload['code'])).toEqual(['ACTION_NOT_ALLOWED', 'ACTION_NOT_ALLOWED']);
    expect(refused[0]?.payload).toMatchObject({ keyName: 'deployer', action: 'db.export', requester: null });
  });

  it('a rule with requester: proven refuses a claimed requester (422, audited) and takes a bound one', async () => {
    const unbound = await keyFor('claims');
    const before = await snapshotData(t);
    const refusedBefore = (await refusals()).length;
    expectProblem(
      await post(unbound, { action: 'prod.restart', requester: { email: 'alice@example.com' } }),
      'REQUESTER_NOT_PROVEN',
      ['/requester'],
    );
    expect(await snapshotBesidesSeq(t)).toEqual(afterRefusals(before, 1));
    const refused = (await refusals()).slice(refusedBefore);
    expect(refused.map((r) => r.payload)).toEqual([
      expect.objectContaining({
        code: 'REQUESTER_NOT_PROVEN',
        keyName: 'claims',
        requester: 'alice@example.com',
      }),
    ]);

    const bound = await keyFor('proven', { requesters: ['alice@example.com'] });
    const response = await post(bound, { action: 'prod.restart' });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  });
});
