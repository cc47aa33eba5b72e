// The CLI loads only what the command run needs: `--version` and the client commands (`request`,
// `hook`) never load the server, Prisma, Bolt, botbuilder, express or PGlite, so a pipeline's call
// starts at once. The module log comes from Node's resolve hook in the real CLI process; `keys`
// (a database command) shows that the log does see those modules when they load. This is the
// sources' path (COUNTERSIGN_FROM_SOURCES=1); built-cli.test.ts checks the build's.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';

const PRELOAD = fileURLToPath(new URL('../support/log-module-loads.mjs', import.meta.url));

/** What a client command must not load, by a part of the module's URL. */
const SERVER_SIDE = [
  '/apps/server/src/main.ts',
  '/apps/server/src/generated/prisma/',
  '/node_modules/@prisma/',
  '/node_modules/@slack/bolt/',
  '/node_modules/botbuilder',
  '/node_modules/express/',
  '/node_modules/@electric-sql/pglite',
  '/node_modules/pg-boss/',
];

/** Diagnostics "not allowed when 'erasableSyntaxOnly' is enabled": syntax Node cannot strip. */
const NOT_ERASABLE = 1294;

/**
 * The project's TypeScript files among `modules` that Node's type stripping could not run (enums,
 * parameter properties, namespaces), as "file(line)".
 */
function notErasable(modules: string[]): string[] {
  const files = [
    ...new Set(
      modules.filter((url) => url.startsWith('file:') && url.includes('/apps/') && url.endsWith('.ts')),
    ),
  ].map((url) => fileURLToPath(url));
  const program = ts.createProgram(files, {
    erasableSyntaxOnly: true,
    noResolve: true,
    noLib: true,
    types: [],
    noEmit: true,
    allowImportingTsExtensions: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.code === NOT_ERASABLE)
    .map((d) => {
      const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 : 0;
      return `${d.file?.fileName ?? '?'}(${line})`;
    });
}

describe('the CLI loads only what the command uses', { timeout: 120_000 }, () => {
  let dir: string;
  let runs = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-loads-'));
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loadsOf(args: string[], vars: Record<string, string | undefined> = {}) {
    const log = join(dir, `modules-${++runs}.log`);
    const result = await runCli(
      args,
      cliEnv({
        NODE_OPTIONS: `--import=${PRELOAD}`,
        COUNTERSIGN_TEST_MODULE_LOG: log,
        COUNTERSIGN_FROM_SOURCES: '1',
        ...vars,
      }),
    );
    const modules = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const serverSide = modules.filter((url) => SERVER_SIDE.some((part) => url.includes(part)));
    return { result, modules, serverSide };
  }

  it('--version loads no command at all', async () => {
    const { result, modules, serverSide } = await loadsOf(['--version']);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(serverSide).toEqual([]);
    expect(modules.filter((url) => url.includes('/apps/cli/src/commands/'))).toEqual([]);
  });

  it('request, up to its first HTTP call and its answer, loads nothing of the server', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'API_KEY_INVALID' }),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const { result, modules, serverSide } = await loadsOf(
        ['request', '--action', 'deploy.production', '--requester', 'dev@example.com'],
        { COUNTERSIGN_URL: `http://127.0.0.1:${port}`, COUNTERSIGN_API_KEY: 'cs_test-key-0000000000' },
      );
      expect(seen).toEqual(['POST /v1/approvals']);
      expect(result.code, describeRun(result)).toBe(3);
      expect(serverSide).toEqual([]);
      // Where Node strips types itself (22.18+, 24), the bin runs client commands without tsx.
      expect(notErasable(modules)).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('hook --help loads nothing of the server', async () => {
    const { result, modules, serverSide } = await loadsOf(['hook', 'claude-code', '--help']);
    expect(result.code, describeRun(result)).toBe(0);
    expect(serverSide).toEqual([]);
    expect(notErasable(modules)).toEqual([]);
  });

  it('a database command does load them: the log sees what is loaded', async () => {
    const { result, modules, serverSide } = await loadsOf(['keys', 'list'], { DATABASE_URL: undefined });
    // No database here, so it refuses; its code (Prisma, the key use cases) is loaded all the same.
    expect(result.code, describeRun(result)).toBe(2);
    expect(serverSide.some((url) => url.includes('/node_modules/@prisma/'))).toBe(true);
    expect(serverSide.some((url) => url.includes('/node_modules/@electric-sql/pglite'))).toBe(true);
    // The erasable-syntax check finds what it looks for: the server side has parameter properties.
    expect(notErasable(modules).length).toBeGreaterThan(0);
  });
});
