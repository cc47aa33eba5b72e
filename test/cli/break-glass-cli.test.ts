// `countersign request --break-glass "reason"` as a real process: approved at once where the rule
// allows it, printed as BREAK-GLASS with its review's state, the receipt checked like any approval;
// refused (exit 3, the server's reason, nothing stored) where the rule does not allow it or over
// its maxPerDay.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvalSchema } from '../../apps/server/src/approvals/view/approval.ts';
import { cliEnv, describeRun, killRunningClis, runCli, type CliResult } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - name: prod-fix
    actions: ["prod.*"]
    approvers: [bob@example.com]
    breakGlass: { allowed: true, reviewWithin: 4h, reviewers: [dave@example.com], maxPerDay: 2 }
  - { name: everything, actions: ["*"], approvers: [bob@example.com] }
`;

function expectExit(result: CliResult, code: number): void {
  expect(result.signal, describeRun(result)).toBeNull();
  expect(result.code, describeRun(result)).toBe(code);
}

describe('countersign request --break-glass', { timeout: 120_000 }, () => {
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    t = await startTestServer({ policyYaml: POLICY });
    ({ key } = await t.createKey('pipeline'));
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await killRunningClis();
    await t?.close();
  });

  const env = () => cliEnv({ COUNTERSIGN_URL: t.url, COUNTERSIGN_API_KEY: key });
  const request = (action: string, requester: string, ...extra: string[]) => [
    'request',
    '--action',
    action,
    '--requester',
    requester,
    '--break-glass',
    'prod down, INC-123',
    ...extra,
  ];
  const requestCount = () => t.server.db.prisma.approvalRequest.count();

  it('--wait exits 0 at once and says BREAK-GLASS, who and the review state', async () => {
    const result = await runCli(request('prod.restart', 'alice@example.com', '--wait'), env());
    expectExit(result, 0);
    expect(result.stdout.trim()).toMatch(
      /^BREAK-GLASS: approved by alice@example\.com \(break-glass\) at \S+; reason: prod down, INC-123 \(review: pending\)$/,
    );
    const row = await t.server.db.prisma.approvalRequest.findFirstOrThrow({
      where: { requesterEmail: 'alice@example.com' },
      include: { breakGlassReview: true },
    });
    expect(row).toMatchObject({ status: 'approved', breakGlass: 'prod down, INC-123' });
    expect(row.breakGlassReview).toMatchObject({ reviewers: ['dave@example.com'], outcome: null });
  });

  it('--json prints the approval with its breakGlass part', async () => {
    const result = await runCli(request('prod.restart', 'alice@example.com', '--json'), env());
    expectExit(result, 0);
    const approval = approvalSchema.strict().parse(JSON.parse(result.stdout));
    expect(approval).toMatchObject({
      status: 'approved',
      breakGlass: { reason: 'prod down, INC-123', reviewers: ['dave@example.com'], review: 'pending' },
    });
  });

  it('exits 3 with the reason and stores nothing over the budget or where the rule does not allow it', async () => {
    const before = await requestCount();
    const over = await runCli(request('prod.restart', 'alice@example.com', '--wait'), env());
    expectExit(over, 3);
    expect(over.stderr).toContain('maxPerDay is 2');
    const notAllowed = await runCli(request('db.export', 'erin@example.com', '--wait'), env());
    expectExit(notAllowed, 3);
    expect(notAllowed.stderr).toMatch(/break-glass/i);
    expect(await requestCount()).toBe(before);
  });
});
