// `countersign serve` loads the MCP SDK only when it is used: /mcp loads it on its first call, the
// gateway (COUNTERSIGN_GATEWAY, not set here) at start-up. Every server holds what it loads, so a
// server nobody reaches over MCP keeps ~10 MB less resident (docs/develop/performance.md,
// "Embedded memory"). The module log comes from Node's resolve hook in the real server process.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../apps/server/src/db/client.ts';
import { createApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { cliEnv, describeRun, freePort, killRunningClis, startCli } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { createMigratedTestDatabase, type TestDatabase } from '../support/test-database.ts';

const PRELOAD = fileURLToPath(new URL('../support/log-module-loads.mjs', import.meta.url));
const MCP_SDK = '/node_modules/@modelcontextprotocol/sdk/';

describe('serve loads the MCP SDK only when it is used', { timeout: 180_000 }, () => {
  let dir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-serve-loads-'));
    database = await createMigratedTestDatabase();
  });
  afterAll(async () => {
    await killRunningClis();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts without it and loads it on the first /mcp call, which it answers', async () => {
    const log = join(dir, 'modules.log');
    const port = await freePort();
    const server = startCli(
      ['serve'],
      cliEnv({
        DATABASE_URL: database.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        NODE_OPTIONS: `--import=${PRELOAD}`,
        COUNTERSIGN_TEST_MODULE_LOG: log,
        COUNTERSIGN_FROM_SOURCES: '1',
      }),
    );
    const base = `http://127.0.0.1:${port}`;
    await pollUntil(
      () =>
        fetch(`${base}/readyz`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      { what: 'the server to be ready', timeoutMs: 120_000 },
    );
    const loaded = async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    // The log does see the server's own packages, so an empty answer below is not a blind one.
    expect((await loaded()).some((url) => url.includes('/node_modules/express/'))).toBe(true);
    expect((await loaded()).filter((url) => url.includes(MCP_SDK))).toEqual([]);

    const db = createDatabase(database.url, { maxConnections: 1 });
    const { key } = await createApiKey(db, { name: 'mcp' }).finally(() => db.close());
    const response = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'countersign-requester': 'alice@example.com',
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('"serverInfo"');
    expect((await loaded()).some((url) => url.includes(MCP_SDK))).toBe(true);

    server.child.kill('SIGTERM');
    const result = await server.exited;
    expect(result.code, describeRun(result)).toBe(0);
  });
});
