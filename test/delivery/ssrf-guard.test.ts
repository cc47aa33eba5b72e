// Case 6: callback URLs that reach the service's own network are refused at creation (422, nothing
// stored) unless COUNTERSIGN_CALLBACK_ALLOW covers them, also when a host name resolves to
// loopback (injected resolver); and the guard runs again at delivery time, when DNS may say
// something else. Servers here run no callback workers, and nothing is ever sent to a
// non-loopback address: requests with such URLs are never decided.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { systemClock, type Deps } from '../../apps/server/src/deps.ts';
import { attemptDelivery, RetryableDeliveryError } from '../../apps/server/src/delivery/deliver-callback.ts';
import { parseAllowList, type LookupAll } from '../../apps/server/src/approvals/outbox/url-guard.ts';
import { createApproval, expectProblem, snapshotData, type Approval } from '../support/api-fixtures.ts';
import { startCallbackReceiver } from '../support/callback-receiver.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { approver, createTestRequest, expectAppError, testDeps } from '../support/use-case-fixtures.ts';

const FORBIDDEN_URLS = [
  'http://127.0.0.1/x',
  'http://169.254.169.254/latest/meta-data',
  'http://10.0.0.1/x',
  'http://[::1]/x',
  'http://[::ffff:127.0.0.1]/x',
];
/** Issue 12: these were accepted at creation. */
const WRAPPED_URLS = [
  'http://[::127.0.0.1]/x',
  'http://[::ffff:0:127.0.0.1]/x',
  'http://[2002:a9fe:a9fe::]/x',
  'http://[64:ff9b::10.0.0.1]/x',
  'http://[100::1]/x',
  'http://168.63.129.16/machine',
  'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x',
];
const ALLOW = '127.0.0.1,10.0.0.0/8,169.254.169.254,::1,evil.example';
const NO_WORKERS = { COUNTERSIGN_CALLBACK_WORKERS: '0' };

/** A resolver whose answers the test changes; it never touches DNS. */
function fakeResolver(table: Record<string, string>): LookupAll {
  return (host) => {
    const address = table[host];
    if (!address) return Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));
    return Promise.resolve([{ address, family: address.includes(':') ? 6 : 4 }]);
  };
}

function depsWith(t: TestServer, allow: string | undefined, lookupAll: LookupAll): Deps {
  return {
    ...testDeps(t.server.db, { clock: systemClock }),
    callbacks: { allow: parseAllowList(allow), lookupAll, timeoutMs: 1000 },
  };
}

describe('SSRF guard without an allow list', () => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer({ env: NO_WORKERS });
    key = (await t.createKey('ssrf')).key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([...FORBIDDEN_URLS, ...WRAPPED_URLS])(
    'refuses %s at creation with 422 and stores nothing',
    async (callbackUrl) => {
      const before = await snapshotData(t);
      const body = { action: 'db.export', requester: { email: 'alice@example.com' }, callbackUrl };
      const response = await t.call('POST', '/v1/approvals', { key, body });
      const problem = expectProblem(response, 'CALLBACK_URL_FORBIDDEN', ['/callbackUrl']);
      expect(problem.detail).toMatch(/COUNTERSIGN_CALLBACK_ALLOW/);
      expect(await snapshotData(t)).toEqual(before);
    },
  );

  it('refuses a non-http(s) URL: by the API schema, and by the guard in the use case', async () => {
    const before = await snapshotData(t);
    const body = {
      action: 'db.export',
      requester: { email: 'alice@example.com' },
      callbackUrl: 'ftp://example.com/x',
    };
    const response = await t.call('POST', '/v1/approvals', { key, body });
    expect(response.status).toBe(422);
    expect((response.body as { errors?: { pointer: string }[] }).errors?.map((e) => e.pointer)).toContain(
      '/callbackUrl',
    );
    expect(await snapshotData(t)).toEqual(before);

    const deps = depsWith(t, undefined, fakeResolver({ 'example.com': '93.184.216.34' }));
    const error = await expectAppError(
      createTestRequest(deps, { callbackUrl: 'ftp://example.com/x' }),
      'CALLBACK_URL_FORBIDDEN',
    );
    expect(error.errors).toEqual([
      { pointer: '/callbackUrl', message: expect.stringMatching(/http or https/) as string },
    ]);
  });

  it('refuses a host name that resolves to loopback (injected resolver), unless the host is allowed', async () => {
    const lookupAll = fakeResolver({ 'evil.example': '127.0.0.1' });
    const callbackUrl = 'http://evil.example/hook';
    const error = await expectAppError(
      createTestRequest(depsWith(t, undefined, lookupAll), { callbackUrl }),
      'CALLBACK_URL_FORBIDDEN',
    );
    expect(error.errors).toEqual([
      { pointer: '/callbackUrl', message: expect.stringMatching(/resolves to 127\.0\.0\.1/) as string },
    ]);
    expect(await t.server.db.prisma.approvalRequest.count({ where: { callbackUrl } })).toBe(0);

    const allowed = await createTestRequest(depsWith(t, ALLOW, lookupAll), { callbackUrl });
    expect(allowed.callbackUrl).toBe(callbackUrl);
  });

  it('checks again at delivery time: a name that now resolves to a forbidden address is not called', async () => {
    // The receiver would catch any connection to the rebound address (127.0.0.2, also loopback).
    const receiver = await startCallbackReceiver({ secret: 'unused', host: '127.0.0.2' });
    try {
      const table: Record<string, string> = { 'rebind.example': '93.184.216.34' };
      const deps = depsWith(t, undefined, fakeResolver(table));
      const request = await createTestRequest(deps, {
        callbackUrl: `http://rebind.example:${receiver.port}/hook`,
      });
      table['rebind.example'] = '127.0.0.2'; // before the verdict: the public address is never dialled
      const decided = await recordDecision(deps, {
        requestId: request.id,
        verdict: 'approve',
        approver: approver('bob@example.com'),
      });
      expect(decided.verdict).toBe('approved');
      const { id: deliveryId } = await t.server.db.prisma.callbackDelivery.findFirstOrThrow({
        where: { requestId: request.id },
      });

      await expect(attemptDelivery(deps, { deliveryId, isLastAttempt: false })).rejects.toBeInstanceOf(
        RetryableDeliveryError,
      );
      const stored = await t.server.db.prisma.callbackDelivery.findUniqueOrThrow({
        where: { id: deliveryId },
        include: { attempts: true },
      });
      expect(stored).toMatchObject({ status: 'pending', attemptCount: 1 });
      expect(stored.attempts).toHaveLength(1);
      expect(stored.attempts[0]).toMatchObject({
        statusCode: null,
        error: expect.stringMatching(/URL guard.*127\.0\.0\.2/) as string,
      });
      expect(await attemptDelivery(deps, { deliveryId, isLastAttempt: true })).toBe('failed');
      expect(receiver.connections()).toBe(0);

      // Control: once the operator allows the address, the same kind of delivery does connect.
      const allowedDeps = depsWith(t, '127.0.0.2', fakeResolver({ 'rebind.example': '127.0.0.2' }));
      const control = await createTestRequest(allowedDeps, {
        callbackUrl: `http://rebind.example:${receiver.port}/hook`,
      });
      await recordDecision(allowedDeps, {
        requestId: control.id,
        verdict: 'approve',
        approver: approver('bob@example.com'),
      });
      const controlDelivery = await t.server.db.prisma.callbackDelivery.findFirstOrThrow({
        where: { requestId: control.id },
      });
      expect(
        await attemptDelivery(allowedDeps, { deliveryId: controlDelivery.id, isLastAttempt: false }),
      ).toBe('succeeded');
      expect(receiver.connections()).toBeGreaterThan(0);
      expect(receiver.received().map((r) => r.deliveryId)).toEqual([controlDelivery.id]);
    } finally {
      await receiver.close();
    }
  });
});

describe('SSRF guard with COUNTERSIGN_CALLBACK_ALLOW', () => {
  let t: TestServer;
  let key: string;
  beforeAll(async () => {
    t = await startTestServer({ env: { ...NO_WORKERS, COUNTERSIGN_CALLBACK_ALLOW: ALLOW } });
    key = (await t.createKey('ssrf-allowed')).key;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('accepts the URLs it covers (they are never called: the requests stay pending)', async () => {
    for (const callbackUrl of FORBIDDEN_URLS) {
      const created: Approval = await createApproval(t, key, { callbackUrl });
      expect(created).toMatchObject({ status: 'pending', callbackUrl });
    }
    const notCovered = {
      action: 'db.export',
      requester: { email: 'alice@example.com' },
      callbackUrl: 'http://192.168.1.1/x',
    };
    expectProblem(
      await t.call('POST', '/v1/approvals', { key, body: notCovered }),
      'CALLBACK_URL_FORBIDDEN',
      ['/callbackUrl'],
    );
    const ftp = { ...notCovered, callbackUrl: 'ftp://127.0.0.1/x' };
    expect((await t.call('POST', '/v1/approvals', { key, body: ftp })).status).toBe(422);
  });
});
