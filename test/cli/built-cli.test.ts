// The CLI ships as built JavaScript (apps/cli/build/bundle-server.mjs, run at `prepare`): split per
// command, so the built `--version` and `request` load no chunk holding server code and none of the
// server's packages; and apps/cli/bin/countersign.js runs the build only while it is current.
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtEntry } from '../../apps/cli/bin/built-entry.js';
import { cliEnv, describeRun, killRunningClis, REPO_ROOT, runCli } from '../support/cli.ts';

const PRELOAD = fileURLToPath(new URL('../support/log-module-loads.mjs', import.meta.url));

/** Packages a client command must not load, by a part of the module's URL. */
const SERVER_PACKAGES = [
  '/node_modules/@prisma/',
  '/node_modules/@slack/bolt/',
  '/node_modules/botbuilder',
  '/node_modules/express/',
  '/node_modules/@electric-sql/pglite',
  '/node_modules/pg/',
  '/node_modules/pg-boss/',
];

/** Sources of the server that no chunk a client command loads may hold. */
const SERVER_SOURCES = [
  'apps/server/src/main.ts',
  'apps/server/src/generated/',
  'apps/server/src/db/',
  'apps/server/src/http/routes/',
  'apps/server/src/chat/',
  'apps/server/src/web/',
  'apps/server/src/jobs/',
];

describe('the built CLI', { timeout: 120_000 }, () => {
  let dir: string;
  let entry: string;
  let runs = 0;

  beforeAll(async () => {
    // Inside the repository, as apps/cli/dist/ is, so packages resolve from node_modules.
    await mkdir(join(REPO_ROOT, 'apps/cli/dist'), { recursive: true });
    dir = await mkdtemp(join(REPO_ROOT, 'apps/cli/dist/test-'));
    entry = join(dir, 'countersign.mjs');
    const built = spawnSync(process.execPath, ['apps/cli/build/bundle-server.mjs', entry], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(built.status, built.stderr).toBe(0);
  });
  afterEach(async () => {
    await killRunningClis();
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the built entry with the module log; what it loaded, and the sources inside the chunks. */
  async function loadsOf(args: string[], vars: Record<string, string | undefined> = {}) {
    const log = join(dir, `modules-${++runs}.log`);
    const result = await runCli(
      args,
      cliEnv({ NODE_OPTIONS: `--import=${PRELOAD}`, COUNTERSIGN_TEST_MODULE_LOG: log, ...vars }),
      { bin: entry },
    );
    const modules = [...new Set((await readFile(log, 'utf8')).split('\n').filter(Boolean))];
    const chunks = modules.filter((url) => url.startsWith(pathToFileURL(dir).href));
    const sources = new Set<string>();
    for (const chunk of chunks) {
      // esbuild heads each bundled source with a `// path` comment (the build is not minified).
      for (const match of (await readFile(fileURLToPath(chunk), 'utf8')).matchAll(/^\/\/ (apps\/\S+)$/gm)) {
        sources.add(match[1] ?? '');
      }
    }
    return {
      result,
      chunks,
      sources: [...sources],
      serverPackages: modules.filter((url) => SERVER_PACKAGES.some((part) => url.includes(part))),
      jose: modules.filter((url) => url.includes('/node_modules/jose/')),
      serverSources: [...sources].filter((source) => SERVER_SOURCES.some((part) => source.startsWith(part))),
      typescript: modules.filter((url) => url.endsWith('.ts') || url.includes('/node_modules/tsx/')),
    };
  }

  it('lists every module it wrote in build-info.json, which the bin checks before it runs the build', async () => {
    const info = JSON.parse(await readFile(join(dir, 'build-info.json'), 'utf8')) as { outputs: string[] };
    const written = (await readdir(dir)).filter((file) => file.endsWith('.mjs')).sort();
    expect(written.length).toBeGreaterThan(10);
    expect(info.outputs).toEqual(written);
  });

  it('--version loads no command and no server code, and no TypeScript or tsx', async () => {
    const loads = await loadsOf(['--version']);
    expect(loads.result.code, describeRun(loads.result)).toBe(0);
    expect(loads.result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(loads.chunks.length).toBeGreaterThan(0);
    expect(loads.sources).toContain('apps/cli/src/main.ts');
    expect(loads.sources.filter((source) => source.startsWith('apps/cli/src/commands/'))).toEqual([]);
    expect(loads.serverPackages).toEqual([]);
    expect(loads.serverSources).toEqual([]);
    expect(loads.typescript).toEqual([]);
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
      const loads = await loadsOf(
        ['request', '--action', 'deploy.production', '--requester', 'dev@example.com'],
        {
          COUNTERSIGN_URL: `http://127.0.0.1:${port}`,
          COUNTERSIGN_API_KEY: 'cs_test-key-0000000000',
        },
      );
      expect(seen).toEqual(['POST /v1/approvals']);
      expect(loads.result.code, describeRun(loads.result)).toBe(3);
      expect(loads.sources).toContain('apps/cli/src/commands/request.ts');
      expect(loads.serverPackages).toEqual([]);
      // jose verifies receipts, loaded once a verdict brings one.
      expect(loads.jose).toEqual([]);
      expect(loads.serverSources).toEqual([]);
      expect(loads.typescript).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('a database command does load them: the check sees server code when it is loaded', async () => {
    const loads = await loadsOf(['keys', 'list'], { DATABASE_URL: undefined });
    expect(loads.result.code, describeRun(loads.result)).toBe(2);
    expect(loads.serverPackages.some((url) => url.includes('/node_modules/@prisma/'))).toBe(true);
    expect(loads.serverSources.some((source) => source.startsWith('apps/server/src/generated/'))).toBe(true);
    expect(loads.typescript).toEqual([]);
  });
});

describe('which code the bin runs', () => {
  let root: string;
  let dist: string;
  let source: string;
  const saved = process.env['COUNTERSIGN_FROM_SOURCES'];

  beforeAll(async () => {
    root = await mkdtemp(join(REPO_ROOT, 'apps/cli/dist/test-bin-'));
    dist = join(root, 'apps/cli/dist');
    await mkdir(dist, { recursive: true });
    await mkdir(join(root, 'apps/cli/src'), { recursive: true });
    source = join(root, 'apps/cli/src/main.ts');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env['COUNTERSIGN_FROM_SOURCES'];
    else process.env['COUNTERSIGN_FROM_SOURCES'] = saved;
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** A build made at `builtAt` (seconds) of a source last changed at `changedAt`. */
  async function build(builtAt: number, changedAt: number): Promise<void> {
    await writeFile(source, 'export {};\n');
    await writeFile(join(dist, 'countersign.mjs'), "import './chunk-A.mjs';\n");
    await writeFile(join(dist, 'chunk-A.mjs'), 'export {};\n');
    await writeFile(
      join(dist, 'build-info.json'),
      JSON.stringify({
        entry: 'countersign.mjs',
        outputs: ['chunk-A.mjs', 'countersign.mjs'],
        sources: ['../src/main.ts'],
      }),
    );
    await utimes(source, changedAt, changedAt);
    await utimes(join(dist, 'build-info.json'), builtAt, builtAt);
  }

  it('runs the sources when there is no build', async () => {
    await rm(join(dist, 'build-info.json'), { force: true });
    expect(builtEntry(dist, root)).toBeUndefined();
  });

  it('in a git checkout, runs the build while it is current and the sources once one is newer', async () => {
    await writeFile(join(root, '.git'), 'gitdir: elsewhere\n');
    await build(2_000_000_000, 1_900_000_000);
    expect(builtEntry(dist, root)?.href).toBe(pathToFileURL(join(dist, 'countersign.mjs')).href);
    await build(1_900_000_000, 2_000_000_000);
    expect(builtEntry(dist, root)).toBeUndefined();
    // A source the build read that is gone (renamed, deleted) also makes it stale.
    await build(2_000_000_000, 1_900_000_000);
    await rm(source);
    expect(builtEntry(dist, root)).toBeUndefined();
  });

  it('in an installed package (no .git), runs the build it shipped with', async () => {
    await rm(join(root, '.git'), { force: true });
    await build(1_900_000_000, 2_000_000_000);
    expect(builtEntry(dist, root)?.href).toBe(pathToFileURL(join(dist, 'countersign.mjs')).href);
  });

  it('runs the sources when COUNTERSIGN_FROM_SOURCES=1, or when the build is incomplete (entry or a chunk missing)', async () => {
    await build(2_000_000_000, 1_900_000_000);
    process.env['COUNTERSIGN_FROM_SOURCES'] = '1';
    expect(builtEntry(dist, root)).toBeUndefined();
    delete process.env['COUNTERSIGN_FROM_SOURCES'];
    await rm(join(dist, 'countersign.mjs'));
    expect(builtEntry(dist, root)).toBeUndefined();
    // A chunk the build wrote that is gone: importing the entry would fail half-way.
    await build(2_000_000_000, 1_900_000_000);
    expect(builtEntry(dist, root)).toBeDefined();
    await rm(join(dist, 'chunk-A.mjs'));
    expect(builtEntry(dist, root)).toBeUndefined();
    await writeFile(join(dist, 'build-info.json'), '{ not json');
    expect(builtEntry(dist, root)).toBeUndefined();
  });
});
