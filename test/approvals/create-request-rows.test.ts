// createRequest answers from the rows it wrote (node-postgres for pending requests, Prisma for
// auto-approved ones) instead of reading them back: the answer must be exactly what a read of the
// stored request answers, field for field and type for type (bigint card ids, Dates, jsonb order).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECISIONS_IN_ORDER } from '../../apps/server/src/approvals/find-request.ts';
import type { Deps } from '../../apps/server/src/deps.ts';
import { SPEC_POLICY_YAML } from '../support/policy-files.ts';
import {
  createTestRequest,
  openMigratedDatabase,
  policyFromYaml,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

describe('createRequest answers what is stored', () => {
  let m: MigratedDatabase;
  let deps: Deps;

  beforeAll(async () => {
    m = await openMigratedDatabase();
    deps = {
      ...testDeps(m.db, { policy: policyFromYaml(SPEC_POLICY_YAML) }),
      chatPlatforms: new Set(['slack']),
    };
    await deps.jobs.start();
  });
  afterAll(async () => {
    await deps.jobs.stop();
    await m.close();
  });

  const stored = (id: string) =>
    m.db.prisma.approvalRequest.findUniqueOrThrow({ where: { id }, include: DECISIONS_IN_ORDER });

  it('a pending request with its card, every optional field set', async () => {
    const created = await createTestRequest(deps, {
      action: 'iam.grant',
      title: 'Export users',
      reason: 'churn analysis',
      requester: { email: 'Alice@Example.com', name: 'Alice' },
      agent: { name: 'analytics-agent', model: 'gpt-x', runId: 'run_1' },
      context: { zeta: 1, alpha: { nested: [1, 'two', null] }, token: 'sk-live-abc123' },
      sensitive: ['/alpha'],
      expiresIn: 600,
      callbackUrl: 'https://203.0.113.10/hooks/countersign',
    });
    // The rule names a Slack channel and a Teams conversation; only Slack is configured here.
    expect(created.chatCards.map((card) => card.channel)).toEqual(['slack:C0SEC']);
    expect(typeof created.chatCards[0]?.id).toBe('bigint');
    expect(created).toStrictEqual(await stored(created.id));
  });

  it('a pending request with no optional field', async () => {
    const created = await createTestRequest({ ...deps, chatPlatforms: new Set() }, { action: 'db.export' });
    expect(created.chatCards).toEqual([]);
    expect(created).toStrictEqual(await stored(created.id));
  });

  it('an auto-approved request with its policy decision', async () => {
    const created = await createTestRequest(deps, { action: 'db.users.read', context: { rows: 10 } });
    expect(created.status).toBe('approved');
    expect(created.decisions).toHaveLength(1);
    expect(created).toStrictEqual(await stored(created.id));
  });
});
