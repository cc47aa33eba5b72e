// The platform-neutral click path on a real database, with a stand-in identity lookup: the card
// check, fail-closed identity, the foreign-tenant refusal, and a recorded decision.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestWithDecisions } from '../../apps/server/src/approvals/find-request.ts';
import {
  decideFromCard,
  type CardClick,
  type ChatDeps,
} from '../../apps/server/src/chat/handle-card-action.ts';
import { createIdentityCache, type ChatIdentity } from '../../apps/server/src/chat/identity-cache.ts';
import {
  auditEvents,
  createTestRequest,
  openMigratedDatabase,
  testDeps,
  type MigratedDatabase,
} from '../support/use-case-fixtures.ts';

const CHANNEL = 'teams:19:review@thread.tacv2';

describe('decideFromCard', () => {
  let m: MigratedDatabase;
  let deps: ChatDeps;
  beforeAll(async () => {
    m = await openMigratedDatabase();
    const base = { ...testDeps(m.db), chatPlatforms: new Set(['teams']) };
    deps = { ...base, identity: createIdentityCache(base.clock, () => undefined) };
    await deps.jobs.start();
    // The bot was added to the conversation (requests for other Teams conversations are refused).
    await m.db.prisma.teamsConversation.create({
      data: { conversationId: CHANNEL.slice('teams:'.length), reference: {}, installedAt: new Date() },
    });
  });
  afterAll(async () => {
    await deps.jobs.stop();
    await m.close();
  });

  async function postedRequest(): Promise<RequestWithDecisions> {
    const request = await createTestRequest(deps, { channel: CHANNEL });
    await m.db.prisma.chatCard.update({
      where: { requestId_channel: { requestId: request.id, channel: CHANNEL } },
      data: { messageId: `activity-${request.id}`, shownVersion: 1 },
    });
    return request;
  }

  function click(
    request: RequestWithDecisions,
    overrides: Partial<CardClick> = {},
    who?: ChatIdentity,
  ): CardClick {
    const identity = who ?? { email: 'bob@example.com', displayName: 'Bob' };
    return {
      platform: 'teams',
      channel: CHANNEL,
      messageId: `activity-${request.id}`,
      requestId: request.id,
      boundRequestId: request.id,
      clicker: {
        userId: 'aad-bob',
        identityKey: `tenant:${identity.email ?? 'none'}:${request.id}`,
        isOwnTenant: true,
        lookup: () => Promise.resolve(identity),
      },
      ...overrides,
    };
  }

  it('records an eligible approval', async () => {
    const request = await postedRequest();
    const outcome = await decideFromCard(deps, click(request), { verdict: 'approve' });
    expect(outcome.kind).toBe('recorded');
    if (outcome.kind === 'recorded') expect(outcome.result.request.status).toBe('approved');
  });

  it.each([
    ['another message', { messageId: 'activity-elsewhere' }],
    ['another channel', { channel: 'teams:19:other@thread.tacv2' }],
    ['a container bound to another request', { boundRequestId: '00000000-0000-4000-8000-000000000000' }],
    ['no container binding', { boundRequestId: null }],
  ])('refuses a click from %s as CARD_MISMATCH, recording nothing', async (_name, overrides) => {
    const request = await postedRequest();
    const outcome = await decideFromCard(deps, click(request, overrides), { verdict: 'approve' });
    expect(outcome).toEqual({
      kind: 'refused',
      code: 'CARD_MISMATCH',
      text: 'This button does not belong to this message, so the click was ignored.',
    });
    expect((await auditEvents(m.db, request.id)).map((e) => e.type)).toEqual(['request.created']);
  });

  it('fails closed when the platform gives no email, or the lookup fails', async () => {
    const request = await postedRequest();
    const none = await decideFromCard(deps, click(request, {}, { email: null, displayName: 'Guest' }), {
      verdict: 'approve',
    });
    expect(none).toMatchObject({ kind: 'refused', code: 'IDENTITY_UNRESOLVED' });
    if (none.kind === 'refused') expect(none.text).toContain('Microsoft Teams profile');
    const failing = click(request);
    failing.clicker = {
      ...failing.clicker,
      identityKey: 'lookup-fails',
      lookup: () => Promise.reject(new Error('403')),
    };
    expect(await decideFromCard(deps, failing, { verdict: 'approve' })).toMatchObject({
      kind: 'refused',
      code: 'IDENTITY_UNRESOLVED',
    });
    const reasons = (await auditEvents(m.db, request.id))
      .filter((e) => e.type === 'decision.refused')
      .map((e) => e.payload['reason']);
    expect(reasons).toEqual(['identity_unresolved', 'identity_unresolved']);
  });

  it('refuses a clicker from another tenant whatever their email, and audits it', async () => {
    const request = await postedRequest();
    const foreign = click(request);
    foreign.clicker = { ...foreign.clicker, isOwnTenant: false };
    expect(await decideFromCard(deps, foreign, { verdict: 'approve' })).toMatchObject({
      kind: 'refused',
      code: 'FOREIGN_TENANT',
    });
    const [refusal] = (await auditEvents(m.db, request.id)).filter((e) => e.type === 'decision.refused');
    expect(refusal).toMatchObject({ actor: 'bob@example.com', payload: { reason: 'foreign_tenant' } });
  });
});
