// Request logs carry the path and query with secret values replaced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger, type CapturedLog } from '../support/logging.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

describe('query strings in request logs', () => {
  let captured: CapturedLog;
  let t: TestServer;
  beforeAll(async () => {
    captured = capturingLogger();
    t = await startTestServer({ log: captured.log });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('never logs ?token=xoxb-… or ?api_key=cs_…, and still logs the rest', async () => {
    await t.call('GET', '/healthz?token=xoxb-111-222-abc&api_key=cs_supersecret&verbose=1');
    const line = captured
      .lines()
      .find((l) => (l['req'] as { url?: string } | undefined)?.url?.startsWith('/healthz'));
    expect(line, captured.text()).toBeDefined();
    expect(captured.text()).not.toContain('xoxb-111-222-abc');
    expect(captured.text()).not.toContain('cs_supersecret');
    expect((line?.['req'] as { url: string }).url).toBe(
      '/healthz?token=%5Bredacted%5D&api_key=%5Bredacted%5D&verbose=1',
    );
  });
});
