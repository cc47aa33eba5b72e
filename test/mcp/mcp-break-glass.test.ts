// The MCP tool's breakGlass argument over /mcp with the SDK's real client: where the rule allows
// it the answer is approved at once, says BREAK-GLASS, and carries a receipt marked break-glass;
// where it does not, or over the rule's maxPerDay, the model is told why and nothing is stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalToolResult } from '../../apps/server/src/mcp/approval-tools.ts';
import { callTool, connectHttp, verifyReceipt, type McpConnection } from '../support/mcp-client.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - name: prod-fix
    actions: ["prod.*"]
    approvers: [bob@example.com]
    breakGlass: { allowed: true, reviewWithin: 4h, reviewers: [dave@example.com], maxPerDay: 1 }
  - { name: everything, actions: ["*"], approvers: [bob@example.com] }
`;

describe('MCP request_approval with breakGlass', { timeout: 120_000 }, () => {
  let t: TestServer;
  let mcp: McpConnection;

  beforeAll(async () => {
    t = await startTestServer({ policyYaml: POLICY });
    const { key } = await t.createKey('agent-platform');
    mcp = await connectHttp(t.url, {
      authorization: `Bearer ${key}`,
      'countersign-requester': 'alice@example.com',
      'countersign-agent': 'ops-bot',
    });
  });
  afterAll(async () => {
    await mcp?.close();
    await t?.close();
  });

  const requestCount = () => t.server.db.prisma.approvalRequest.count();

  it('is approved at once, says BREAK-GLASS, and its receipt says so; the review is open', async () => {
    const { result, text } = await callTool(mcp, 'request_approval', {
      action: 'prod.restart',
      breakGlass: 'prod down, INC-123',
    });
    expect(result.isError ?? false, text).toBe(false);
    expect(text).toMatch(/^BREAK-GLASS: Approved by alice@example\.com \(break-glass\)/);
    expect(text).toContain('review: pending');
    const out = result.structuredContent as ApprovalToolResult;
    expect(out).toMatchObject({
      status: 'approved',
      action: 'prod.restart',
      decisions: [{ approver: 'alice@example.com', platform: 'break-glass', verdict: 'approve' }],
      breakGlass: { reason: 'prod down, INC-123', review: 'pending' },
    });
    const receipt = await verifyReceipt(t.url, out.receipt ?? '');
    expect(receipt).toMatchObject({ status: 'approved', breakGlass: { reason: 'prod down, INC-123' } });
    const review = await t.server.db.prisma.breakGlassReview.findUnique({ where: { requestId: out.id } });
    expect(review).toMatchObject({ reviewers: ['dave@example.com'], outcome: null });
  });

  it('tells the model why when over the budget or where the rule does not allow it, storing nothing', async () => {
    const before = await requestCount();
    const over = await callTool(mcp, 'request_approval', { action: 'prod.restart', breakGlass: 'again' });
    expect(over.result.isError).toBe(true);
    expect(over.text).toContain('maxPerDay is 1');
    const notAllowed = await callTool(mcp, 'request_approval', { action: 'db.export', breakGlass: 'urgent' });
    expect(notAllowed.result.isError).toBe(true);
    expect(notAllowed.text).toMatch(/break-glass/i);
    const empty = await callTool(mcp, 'request_approval', { action: 'prod.restart', breakGlass: '' });
    expect(empty.result.isError).toBe(true);
    expect(await requestCount()).toBe(before);
  });
});
