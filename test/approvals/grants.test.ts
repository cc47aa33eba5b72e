// Time-bound grants in the core: an approval that chose "this tool for N minutes" opens a grant
// (only where the rule says grant: { upTo }, never longer, and only when every approval chose a
// window); later requests of the same action, requester and agent are approved by it, each in
// the chain with the grant's id, until it expires or is revoked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listGrants, revokeGrant } from '../../apps/server/src/approvals/grants.ts';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { SettableClock } from '../support/settable-clock.ts';
import {
  approver,
  auditEvents,
  createTestRequest,
  expectAppError,
  openMigratedDatabase,
  policyFromYaml,
  storedRequest,
  type MigratedDatabase,
  testDeps,
} from '../support/use-case-fixtures.ts';

const POLICY = `
rules:
  - { name: tools, actions: [mcp.files.*], approvers: [bob@example.com, carol@example.com], grant: { upTo: 1h } }
  - { name: pair, actions: [mcp.pair.*], approvers: [bob@example.com, carol@example.com], quorum: 2, grant: { upTo: 30m } }
  - { name: calls, actions: ['*'], approvers: [bob@example.com] }
`;
const AGENT = { name: 'coding-agent' };

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

const approve = (id: string, email: string, grantMinutes?: number) =>
  recordDecision(deps, { requestId: id, verdict: 'approve', approver: approver(email), grantMinutes });

describe('time-bound grants', () => {
  it('opens a grant that approves later requests of the same tool, requester and agent until it expires', async () => {
    const first = await createTestRequest(deps, { action: 'mcp.files.write', agent: AGENT });
    const decided = await approve(first.id, 'bob@example.com', 20);
    expect(decided.verdict).toBe('approved');
    const [grant] = await listGrants(deps, { open: true, action: 'mcp.files.write' });
    expect(grant).toMatchObject({
      requestId: first.id,
      requester: 'alice@example.com',
      agent: 'coding-agent',
      policyRule: 'tools',
      minutes: 20,
      approvers: ['bob@example.com'],
      status: 'open',
      uses: 0,
    });
    const opened = (await auditEvents(m.db, first.id)).find((e) => e.type === 'grant.opened');
    expect(opened?.payload).toMatchObject({ grantId: grant?.id, minutes: 20 });

    clock.advance(10 * 60_000);
    const second = await createTestRequest(deps, {
      action: 'mcp.files.write',
      agent: AGENT,
      context: { path: '/tmp/b' },
    });
    expect(second.status).toBe('approved');
    expect(second.decisions.map((d) => [d.approverEmail, d.platform])).toEqual([
      [`grant:${grant?.id}`, 'grant'],
    ]);
    const recorded = (await auditEvents(m.db, second.id)).find((e) => e.type === 'decision.recorded');
    expect(recorded?.payload).toMatchObject({ grantId: grant?.id, verdict: 'approve' });

    // Another agent, another requester, another tool: not covered.
    const otherAgent = await createTestRequest(deps, { action: 'mcp.files.write', agent: { name: 'x' } });
    expect(otherAgent.status).toBe('pending');
    const noAgent = await createTestRequest(deps, { action: 'mcp.files.write' });
    expect(noAgent.status).toBe('pending');
    const otherTool = await createTestRequest(deps, { action: 'mcp.files.delete', agent: AGENT });
    expect(otherTool.status).toBe('pending');

    clock.advance(11 * 60_000);
    const late = await createTestRequest(deps, { action: 'mcp.files.write', agent: AGENT });
    expect(late.status).toBe('pending');
    const [after] = await listGrants(deps, { action: 'mcp.files.write' });
    expect(after).toMatchObject({ status: 'expired', uses: 1 });
    expect(await verifyChain(m.db)).toMatchObject({ intact: true });
  });

  it('stops approving once revoked, and says when there was nothing to revoke', async () => {
    const first = await createTestRequest(deps, { action: 'mcp.files.move', agent: AGENT });
    await approve(first.id, 'carol@example.com', 60);
    const [grant] = await listGrants(deps, { open: true, action: 'mcp.files.move' });
    if (!grant) throw new Error('no grant opened');
    expect((await createTestRequest(deps, { action: 'mcp.files.move', agent: AGENT })).status).toBe(
      'approved',
    );
    const revoked = await revokeGrant(deps, grant.id, 'admin:ops-key');
    expect(revoked).toMatchObject({
      revoked: true,
      grant: { status: 'revoked', revokedBy: 'admin:ops-key' },
    });
    expect((await createTestRequest(deps, { action: 'mcp.files.move', agent: AGENT })).status).toBe(
      'pending',
    );
    expect((await revokeGrant(deps, grant.id, 'admin:ops-key')).revoked).toBe(false);
    const events = await auditEvents(m.db, first.id);
    expect(events.find((e) => e.type === 'grant.revoked')?.payload).toEqual({
      grantId: grant.id,
      revokedBy: 'admin:ops-key',
    });
    await expectAppError(revokeGrant(deps, '00000000-0000-4000-8000-000000000000', 'x'), 'NOT_FOUND');
  });

  it('refuses a grant the rule does not allow, or longer than it allows, and records nothing', async () => {
    const calls = await createTestRequest(deps, { action: 'db.export', agent: AGENT });
    await expectAppError(approve(calls.id, 'bob@example.com', 5), 'POLICY_VIOLATION');
    const tooLong = await createTestRequest(deps, { action: 'mcp.files.chmod', agent: AGENT });
    await expectAppError(approve(tooLong.id, 'bob@example.com', 61), 'POLICY_VIOLATION');
    await expectAppError(approve(tooLong.id, 'bob@example.com', 0), 'VALIDATION_FAILED');
    await expectAppError(
      recordDecision(deps, {
        requestId: tooLong.id,
        verdict: 'deny',
        approver: approver('bob@example.com'),
        grantMinutes: 5,
      }),
      'VALIDATION_FAILED',
    );
    expect((await storedRequest(m.db, tooLong.id)).decisions).toEqual([]);
    expect((await storedRequest(m.db, calls.id)).decisions).toEqual([]);
  });

  it('opens no grant when one of the approvals chose this call only; the shortest window otherwise', async () => {
    const mixed = await createTestRequest(deps, { action: 'mcp.pair.run', agent: AGENT });
    await approve(mixed.id, 'bob@example.com', 30);
    expect((await approve(mixed.id, 'carol@example.com')).verdict).toBe('approved');
    expect(await listGrants(deps, { action: 'mcp.pair.run' })).toEqual([]);

    const both = await createTestRequest(deps, { action: 'mcp.pair.stop', agent: AGENT });
    await approve(both.id, 'bob@example.com', 30);
    await approve(both.id, 'carol@example.com', 10);
    const [grant] = await listGrants(deps, { action: 'mcp.pair.stop' });
    expect(grant).toMatchObject({ minutes: 10, approvers: ['bob@example.com', 'carol@example.com'] });
  });
});
