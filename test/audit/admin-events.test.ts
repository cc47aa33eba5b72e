// Every administrative change is in the audit chain, written in the same transaction as the
// change: a key created or revoked (API and CLI), a delivery sent again, the policy a server
// started with (with its file's digest). The chain stays intact and the report counts them.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateReport } from '../../apps/server/src/audit/report/generate-report.ts';
import { verifyChain } from '../../apps/server/src/audit/verify-chain.ts';
import { createApiKey, type CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { revokeApiKey } from '../../apps/server/src/keys/revoke-api-key.ts';
import { createApproval } from '../support/api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from '../support/callback-receiver.ts';
import { cliEnv, describeRun, runCli } from '../support/cli.ts';
import { deliveryEnv, waitForDelivery } from '../support/delivery-fixtures.ts';
import { usingRealPostgres } from '../support/test-database.ts';
import { auditEvents } from '../support/use-case-fixtures.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - name: everything
    actions: ['*']
    approvers: [bob@example.com]
`;

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

describe('administrative actions in the audit chain', { timeout: 120_000 }, () => {
  let t: TestServer;
  let dir: string;
  let policyPath: string;
  let client: CreatedApiKey;
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-admin-'));
    policyPath = join(dir, 'policy.yaml');
    await writeFile(policyPath, POLICY);
    t = await startTestServer({
      env: deliveryEnv({ COUNTERSIGN_CALLBACK_RETRY_LIMIT: '0', COUNTERSIGN_POLICY: policyPath }),
    });
    client = await createApiKey(t.server.db, { name: 'pipeline', actor: 'cli:operator' });
    receiver = await startCallbackReceiver({ secret: client.callbackSecret });
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('start-up records the policy it loaded, with the SHA-256 of the file', async () => {
    const loaded = (await auditEvents(t.server.db)).filter((e) => e.type === 'policy.loaded');
    expect(loaded).toHaveLength(1);
    const digest = `sha256:${createHash('sha256')
      .update(await readFile(policyPath))
      .digest('hex')}`;
    expect(loaded[0]).toMatchObject({
      actor: 'system',
      requestId: null,
      payload: { source: policyPath, digest, rules: ['everything'] },
    });
  });

  it('a created key is audited with who created it, never with the key or the secret', async () => {
    const events = (await auditEvents(t.server.db)).filter((e) => e.type === 'key.created');
    const event = events.find((e) => e.payload['keyId'] === client.id);
    expect(event).toMatchObject({
      actor: 'cli:operator',
      payload: {
        keyId: client.id,
        clientId: client.clientId,
        name: 'pipeline',
        prefix: client.prefix,
        scopes: client.scopes,
      },
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain(client.key);
    expect(text).not.toContain(client.callbackSecret);
  });

  it('a revocation is audited once; revoking again changes nothing and adds nothing', async () => {
    const doomed = await createApiKey(t.server.db, { name: 'doomed' });
    expect((await revokeApiKey(t.server.db, doomed.id, new Date(), 'cli:operator')).changed).toBe(true);
    expect((await revokeApiKey(t.server.db, doomed.id, new Date(), 'cli:operator')).changed).toBe(false);
    const revoked = (await auditEvents(t.server.db)).filter((e) => e.type === 'key.revoked');
    expect(revoked).toEqual([
      expect.objectContaining({
        actor: 'cli:operator',
        payload: { keyId: doomed.id, clientId: doomed.clientId, prefix: doomed.prefix },
      }),
    ]);
  });

  it('a delivery sent again is audited on its request, with the status it replaced', async () => {
    receiver.setFallback(500);
    const created = await createApproval(t, client.key, { callbackUrl: receiver.urlFor() });
    expect(
      (await t.call('POST', `/v1/approvals/${created.id}/cancel`, { key: client.key, body: {} })).status,
    ).toBe(200);
    const failed = await waitForDelivery(t, client.key, created.id, (d) => d.status === 'failed');
    const retry = await t.call('POST', `/v1/approvals/${created.id}/deliveries/${failed.id}/retry`, {
      key: client.key,
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    const resent = (await auditEvents(t.server.db, created.id)).filter((e) => e.type === 'delivery.resent');
    expect(resent).toEqual([
      expect.objectContaining({
        requestId: created.id,
        actor: `client:${client.clientId}`,
        payload: { deliveryId: failed.id, previousStatus: 'failed' },
      }),
    ]);
  });

  it('the chain stays intact and the report counts the administrative actions and names the policy', async () => {
    expect((await verifyChain(t.server.db)).intact).toBe(true);
    const out = new Collect();
    const result = await generateReport({
      db: t.server.db,
      period: { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) },
      format: 'md',
      out,
      actor: 'cli:auditor',
      now: () => new Date(),
    });
    expect(result.summary.adminActions.counts).toEqual({
      'key.created': 2,
      'key.admins.changed': 0,
      'key.revoked': 1,
      'delivery.resent': 1,
      'policy.loaded': 1,
      // The first start with no stored version adopts the file; nothing was proposed or ignored.
      'policy.adopted': 1,
      'policy.proposed': 0,
      'policy.changed': 0,
      'policy.file_ignored': 0,
    });
    const digest = `sha256:${createHash('sha256').update(POLICY).digest('hex')}`;
    expect(result.summary.adminActions.policies).toEqual([
      { source: policyPath, digest, firstLoadedAt: expect.any(String) as string },
    ]);
    expect(out.text).toContain('| key.revoked | 1 |');
    expect(out.text).toContain(`\`${digest}\``);
  });

  it('the CSV names the period first, who was asked and who cancelled why, and the chain status last', async () => {
    const period = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) };
    const out = new Collect();
    await generateReport({
      db: t.server.db,
      period,
      format: 'csv',
      out,
      actor: 'cli:auditor',
      now: () => new Date(),
    });
    const lines = out.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      `# Countersign audit report: period ${period.from.toISOString()} to ${period.to.toISOString()} (end excluded)`,
    );
    expect(lines[lines.length - 1]).toMatch(
      /^# chain intact \(\d+ events verified\); period events seq \d+ to \d+$/,
    );
    const rows = parse<Record<string, string>>(out.text, {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      status: 'cancelled',
      asked_approvers: 'bob@example.com',
      cancelled_by: `client:${client.clientId}`,
      cancel_reason: '',
    });
  });
});

describe('the CLI names the operator in key events', { timeout: 120_000 }, () => {
  it.skipIf(!usingRealPostgres)('keys create and keys revoke record cli:<os user>', async () => {
    const t = await startTestServer();
    try {
      const env = cliEnv({ DATABASE_URL: t.database.url });
      const created = await runCli(['keys', 'create', '--name', 'cli-made', '--json'], env);
      expect(created.code, describeRun(created)).toBe(0);
      const { id } = z.object({ id: z.uuid() }).parse(JSON.parse(created.stdout));
      const revoked = await runCli(['keys', 'revoke', id], env);
      expect(revoked.code, describeRun(revoked)).toBe(0);
      const events = (await auditEvents(t.server.db)).filter((e) => e.type.startsWith('key.'));
      expect(events.map((e) => [e.type, e.payload['keyId']])).toEqual([
        ['key.created', id],
        ['key.revoked', id],
      ]);
      for (const event of events) expect(event.actor).toMatch(/^cli:.+/);
    } finally {
      await t.close();
    }
  });
});
