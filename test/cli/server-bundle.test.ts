// The Docker image's entry point: `apps/cli/build/bundle-server.mjs` bundles the command into one
// JavaScript file that runs on plain Node without tsx, serves the API, the console's views and the
// pipeline client from the sources beside it, and stops cleanly on SIGTERM.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, describeRun, freePort, killRunningClis, REPO_ROOT, startCli } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

describe('the bundled server (Docker image entry point)', { timeout: 120_000 }, () => {
  let dir: string;
  let bundle: string;
  let database: TestDatabase;
  beforeAll(async () => {
    // Inside the repository as in the image (apps/cli/dist/, git-ignored), so packages resolve.
    await mkdir(join(REPO_ROOT, 'apps/cli/dist'), { recursive: true });
    dir = await mkdtemp(join(REPO_ROOT, 'apps/cli/dist/test-'));
    bundle = join(dir, 'countersign.mjs');
    const built = spawnSync(process.execPath, ['apps/cli/build/bundle-server.mjs', bundle], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(built.status, built.stderr).toBe(0);
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await killRunningClis();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is plain JavaScript that does not load tsx', async () => {
    const code = await readFile(bundle, 'utf8');
    expect(code).not.toMatch(/from ["']tsx|import\(["']tsx|require\(["']tsx/);
    expect(code).not.toMatch(/from ["'][^"']+\.ts["']/);
  });

  it('serves /readyz, the console and the pipeline client, and stops on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const server = startCli(
      ['serve'],
      cliEnv({ DATABASE_URL: database.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }),
      { bin: bundle },
    );
    const base = `http://127.0.0.1:${port}`;
    await pollUntil(
      () =>
        fetch(`${base}/readyz`).then(
          (r) => r.status,
          () => 0,
        ),
      (status) => status === 200,
      { what: 'the bundled server to be ready', timeoutMs: 60_000 },
    );
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
    const signIn = await fetch(`${base}/signin`);
    expect(signIn.status).toBe(200);
    // Rendered from the eta views beside the sources.
    expect(await signIn.text()).toMatch(/^<!doctype html>\n<html lang="en">/);
    const client = await fetch(`${base}/cli/countersign.mjs`);
    expect(client.status).toBe(200);
    expect(await client.text()).toMatch(/^#!\/usr\/bin\/env node/);

    server.child.kill('SIGTERM');
    const result = await server.exited;
    expect(result.code, describeRun(result)).toBe(0);
  });
});
