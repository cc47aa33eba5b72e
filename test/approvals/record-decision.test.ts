// recordDecision: self-approval through every identity path, fail-closed eligibility, quorum of
// distinct people, idempotent clicks, deny rules, expiry at decision time, and what gets audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestWithDecisions } from '../../apps/server/src/approvals/find-request.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import type { ErrorCode } from '../../apps/server/src/errors.ts';
import { SettableClock } from '../support/settable-clock.ts';
import {
  approver,
  auditEvents,
  createTestRequest,
  expectAppError,
  openMigratedDatabase,
  policyFromYaml,
  REQUESTER,
  storedRequest,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

// The requester (alice) and the agent's owner are both in the approvers group on purpose.
const POLICY = `
groups:
  ops: [alice@example.com, owner@example.com, bob@example.com, carol@example.com, dave@example.com]
agents:
  my-agent: { owner: owner@example.com }
rules:
  - { name: reasoned, actions: [prod.delete], approvers: [group:ops], denyReason: required }
  - { name: two-denies, actions: [prod.restart], approvers: [group:ops], denyQuorum: 2 }
  - { name: pair, actions: [prod.deploy], approvers: [group:ops], quorum: 2 }
  - { name: ops, actions: ['*'], approvers: [group:ops] }
`;

let m: MigratedDatabase;
let deps: Deps;
let clock: SettableClock;
beforeAll(async () => {
  m = await openMigratedDatabase();
  clock = new SettableClock();
  deps = testDeps(m.db, { policy: policyFromYaml(POLICY), clock });
});
afterAll(async () => {
  await m?.close();
});

const decide = (id: string, email: string | null, verdict: 'approve' | 'deny' = 'approve', reason?: string) =>
  recordDecision(deps, { requestId: id, verdict, reason, approver: approver(email) });

/** Asserts the click was refused with `code`, changed nothing and left exactly one refusal event. */
async function expectRefused(
  request: RequestWithDecisions,
  click: Promise<unknown>,
  code: ErrorCode,
  reason: string,
  status: string = request.status,
): Promise<void> {
  await expectAppError(click, code);
  const after = await storedRequest(m.db, request.id);
  expect(after.status).toBe(status);
  expect(after.decisions).toHaveLength(request.decisions.length);
  const refusals = (await auditEvents(m.db, request.id)).filter((e) => e.type === 'decision.refused');
  expect(refusals).toHaveLength(1);
  expect(refusals[0]?.payload).toMatchObject({ reason });
}

describe('self-approval is refused whatever the identity path', () => {
  it.each([
    ['the requester', REQUESTER, 'approve'],
    ['the requester in another case', 'Alice@EXAMPLE.com', 'approve'],
    ['the requester with spaces around', '  alice@example.com ', 'approve'],
    ['the requester denying', REQUESTER, 'deny'],
  ] as const)('%s (although in the approvers group)', async (_name, email, verdict) => {
    const request = await createTestRequest(deps);
    await expectRefused(
      request,
      decide(request.id, email, verdict),
      'SELF_APPROVAL_FORBIDDEN',
      'self_approval',
    );
  });

  it.each([
    ['the owner', 'owner@example.com'],
    ['the owner in another case', ' OWNER@example.com'],
  ])("the agent's owner named in the policy: %s", async (_name, email) => {
    const request = await createTestRequest(deps, { agent: { name: 'my-agent' } });
    expect(request.agentOwner).toBe('owner@example.com');
    await expectRefused(request, decide(request.id, email), 'SELF_APPROVAL_FORBIDDEN', 'self_approval');
  });

  it.each(['My-Agent', 'MY-AGENT'])(
    "the agent's owner, when the request spells the agent %s",
    async (agentName) => {
      const request = await createTestRequest(deps, { agent: { name: agentName } });
      expect(request.agentOwner).toBe('owner@example.com');
      await expectRefused(
        request,
        decide(request.id, 'owner@example.com'),
        'SELF_APPROVAL_FORBIDDEN',
        'self_approval',
      );
    },
  );

  it('the owner of another agent may decide', async () => {
    const request = await createTestRequest(deps, { agent: { name: 'other-agent' } });
    const result = await decide(request.id, 'owner@example.com');
    expect(result).toMatchObject({ recorded: true, verdict: 'approved' });
  });
});

describe('eligibility fails closed', () => {
  it('refuses an approver the rule does not name', async () => {
    const request = await createTestRequest(deps);
    await expectRefused(request, decide(request.id, 'mallory@example.com'), 'NOT_ELIGIBLE', 'not_eligible');
  });

  it('refuses a clicker whose email could not be resolved', async () => {
    const request = await createTestRequest(deps);
    await expectRefused(request, decide(request.id, null), 'IDENTITY_UNRESOLVED', 'identity_unresolved');
    const [refusal] = (await auditEvents(m.db, request.id)).filter((e) => e.type === 'decision.refused');
    expect(refusal?.actor).toBe('slack:U-unknown');
  });

  it('the built-in default policy lets anyone but the requester approve', async () => {
    const builtIn = testDeps(m.db, { clock });
    const request = await createTestRequest(builtIn);
    expect(request.anyApprover).toBe(true);
    await expectRefused(
      request,
      recordDecision(builtIn, {
        requestId: request.id,
        verdict: 'approve',
        approver: approver('ALICE@example.com'),
      }),
      'SELF_APPROVAL_FORBIDDEN',
      'self_approval',
    );
    const result = await recordDecision(builtIn, {
      requestId: request.id,
      verdict: 'approve',
      approver: approver('someone@elsewhere.org'),
    });
    expect(result).toMatchObject({ recorded: true, verdict: 'approved', request: { status: 'approved' } });
  });
});

describe('quorum, duplicates and verdicts', () => {
  it('a repeated click by the same person (other case) is idempotent', async () => {
    const request = await createTestRequest(deps, { action: 'prod.deploy' });
    expect(await decide(request.id, 'bob@example.com')).toMatchObject({ recorded: true, verdict: null });
    const again = await decide(request.id, 'BOB@Example.com');
    expect(again).toMatchObject({ recorded: false, verdict: null, request: { status: 'pending' } });
    expect(again.request.decisions).toHaveLength(1);
    const events = await auditEvents(m.db, request.id);
    expect(events.filter((e) => e.type === 'decision.recorded')).toHaveLength(1);
  });

  it('quorum 2: the same person twice stays pending; a second distinct person approves', async () => {
    const request = await createTestRequest(deps, { action: 'prod.deploy' });
    expect(request.quorum).toBe(2);
    await decide(request.id, 'bob@example.com');
    await decide(request.id, 'bob@example.com');
    expect((await storedRequest(m.db, request.id)).status).toBe('pending');
    const result = await decide(request.id, 'carol@example.com');
    expect(result).toMatchObject({ recorded: true, verdict: 'approved', request: { status: 'approved' } });
    expect(result.request.decisions.map((d) => d.approverEmail).sort()).toEqual([
      'bob@example.com',
      'carol@example.com',
    ]);
    expect(result.request.decidedAt).toEqual(clock.now());
  });

  it('a click after the verdict is refused as already decided and audited', async () => {
    const request = await createTestRequest(deps);
    await decide(request.id, 'bob@example.com');
    const decided = await storedRequest(m.db, request.id);
    expect(decided.status).toBe('approved');
    await expectRefused(
      decided,
      decide(decided.id, 'carol@example.com', 'deny'),
      'ALREADY_DECIDED',
      'already_decided',
    );
  });

  it('one eligible deny ends the request', async () => {
    const request = await createTestRequest(deps, { action: 'prod.deploy' });
    await decide(request.id, 'bob@example.com');
    const result = await decide(request.id, 'carol@example.com', 'deny');
    expect(result).toMatchObject({ recorded: true, verdict: 'denied', request: { status: 'denied' } });
    expect(result.request.decisions.filter((d) => d.verdict === 'deny')).toHaveLength(1);
    const types = (await auditEvents(m.db, request.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'request.denied')).toHaveLength(1);
  });

  it('denyQuorum 2 needs two distinct denies', async () => {
    const request = await createTestRequest(deps, { action: 'prod.restart' });
    expect(await decide(request.id, 'bob@example.com', 'deny')).toMatchObject({ verdict: null });
    expect(await decide(request.id, 'BOB@example.com', 'deny')).toMatchObject({ recorded: false });
    expect((await storedRequest(m.db, request.id)).status).toBe('pending');
    const result = await decide(request.id, 'carol@example.com', 'deny');
    expect(result).toMatchObject({ verdict: 'denied', request: { status: 'denied' } });
  });

  it('an approval leaves request.created, decision.recorded, request.approved, chained intact', async () => {
    const request = await createTestRequest(deps);
    await decide(request.id, 'dave@example.com');
    const events = await auditEvents(m.db, request.id);
    expect(events.map((e) => e.type)).toEqual(['request.created', 'decision.recorded', 'request.approved']);
    expect(events[1]).toMatchObject({ actor: 'dave@example.com', payload: { verdict: 'approve' } });
    expect(events[2]?.payload).toMatchObject({ approvals: ['dave@example.com'], denials: [] });
    expect(await verifyChain(m.db)).toMatchObject({ intact: true });
  });
});

describe('deny reasons and expiry at decision time', () => {
  it.each([undefined, '   '])(
    'a rule requiring a reason refuses a deny with reason %j, storing nothing',
    async (reason) => {
      const request = await createTestRequest(deps, { action: 'prod.delete' });
      await expectAppError(decide(request.id, 'bob@example.com', 'deny', reason), 'DENY_REASON_REQUIRED');
      const after = await storedRequest(m.db, request.id);
      expect(after).toMatchObject({ status: 'pending', decisions: [] });
      // Thrown inside the transaction: rolled back, so not even a refusal event.
      expect((await auditEvents(m.db, request.id)).map((e) => e.type)).toEqual(['request.created']);
      const denied = await decide(request.id, 'bob@example.com', 'deny', ' would drop prod ');
      expect(denied.request).toMatchObject({ status: 'denied', decisions: [{ reason: 'would drop prod' }] });
    },
  );

  it('masks a credential quoted in a decision reason, in the decision and in its audit event', async () => {
    const token = 'ghp_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
    const request = await createTestRequest(deps);
    const denied = await decide(request.id, 'bob@example.com', 'deny', `the log shows ${token}`);
    expect(denied.request.decisions[0]?.reason).toBe('the log shows ••••J3i2');
    const events = await auditEvents(m.db, request.id);
    expect(JSON.stringify(events)).not.toContain(token);
    expect(events.find((e) => e.type === 'decision.recorded')?.payload).toMatchObject({
      reason: 'the log shows ••••J3i2',
    });
  });

  it('a rule requiring a deny reason still lets people approve without one', async () => {
    const request = await createTestRequest(deps, { action: 'prod.delete' });
    expect(await decide(request.id, 'bob@example.com')).toMatchObject({ verdict: 'approved' });
  });

  it('a decision on an overdue request not yet swept expires it and is refused', async () => {
    const request = await createTestRequest(deps, { expiresIn: 60 });
    clock.advance(60_000);
    await expectRefused(
      request,
      decide(request.id, 'bob@example.com'),
      'REQUEST_EXPIRED',
      'expired',
      'expired',
    );
    const after = await storedRequest(m.db, request.id);
    expect(after).toMatchObject({ status: 'expired', decisions: [], decidedAt: clock.now() });
    const events = await auditEvents(m.db, request.id);
    expect(events.map((e) => e.type)).toEqual(['request.created', 'request.expired', 'decision.refused']);
  });

  it('a decision one millisecond before expiry counts', async () => {
    const request = await createTestRequest(deps, { expiresIn: 60 });
    clock.advance(59_999);
    expect(await decide(request.id, 'bob@example.com')).toMatchObject({ verdict: 'approved' });
  });

  it('an unknown request id is NOT_FOUND', async () => {
    await expectAppError(decide('00000000-0000-4000-8000-000000000000', 'bob@example.com'), 'NOT_FOUND');
    await expectAppError(decide('not-a-uuid', 'bob@example.com'), 'NOT_FOUND');
  });
});
