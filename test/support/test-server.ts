// Starts the real server in-process on a fresh database and gives tests a small HTTP client.
import { loadConfig } from '../../apps/server/src/config.ts';
import type { Clock } from '../../apps/server/src/deps.ts';
import { createApiKey, type CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import type { Scope } from '../../apps/server/src/keys/scopes.ts';
import { TEST_EVENT_KEY_SETTING } from './test-event-key.ts';
import { startServer, type RunningServer } from '../../apps/server/src/main.ts';
import type { Logger } from '../../apps/server/src/observability/logger.ts';
import { silentLogger } from './logging.ts';
import { writeTempPolicy } from './policy-files.ts';
import { createMigratedTestDatabase, type TestDatabase } from './test-database.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  key?: string | undefined;
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  server: RunningServer;
  database: TestDatabase;
  createKey(name?: string, scopes?: Scope[]): Promise<CreatedApiKey>;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: CallOptions,
  ): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export interface StartTestServerOptions {
  env?: Record<string, string>;
  /** A policy file's text: written to a temporary file for COUNTERSIGN_POLICY, removed on close. */
  policyYaml?: string;
  log?: Logger;
  clock?: Clock;
  database?: TestDatabase;
}

export async function startTestServer(options: StartTestServerOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createMigratedTestDatabase());
  const policy = options.policyYaml === undefined ? null : await writeTempPolicy(options.policyYaml);
  const env = { ...(policy ? { COUNTERSIGN_POLICY: policy.path } : {}), ...options.env };
  const config = loadConfig({
    DATABASE_URL: database.url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    // The key use-case helpers (testDeps) sign with, so their events verify on this server too.
    COUNTERSIGN_EVENT_KEY: TEST_EVENT_KEY_SETTING,
    ...env,
  });
  const server = await startServer({
    config,
    log: options.log ?? silentLogger(),
    secretEnv: { ...env },
    ...(options.clock ? { clock: options.clock } : {}),
  }).catch(async (error: unknown) => {
    await policy?.remove();
    throw error;
  });
  let keyCount = 0;
  return {
    url: server.url,
    server,
    database,
    createKey(name = `test-client-${++keyCount}`, scopes) {
      return createApiKey(server.db, { name, ...(scopes ? { scopes } : {}) });
    },
    async call<T>(method: string, path: string, call: CallOptions = {}) {
      const headers: Record<string, string> = { ...call.headers };
      if (call.key) headers['authorization'] = `Bearer ${call.key}`;
      let body: string | undefined = call.rawBody;
      if (body === undefined && call.body !== undefined) {
        body = JSON.stringify(call.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      const text = await response.text();
      const type = response.headers.get('content-type') ?? '';
      const parsed: unknown = type.includes('json') && text ? JSON.parse(text) : text;
      return { status: response.status, headers: response.headers, body: parsed as T };
    },
    async close() {
      await server.close();
      if (!options.database) await database.drop();
      await policy?.remove();
    },
  };
}
