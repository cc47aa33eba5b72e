// How fast the CLI starts, the cost a pipeline pays on every gated step: `countersign --version`
// to its exit, and `countersign request` from spawn to its first HTTP call (a local server that
// answers 401, so the command ends at once). Each beside `node -e 0` timed in the same rounds.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { figureBelow, median, repeat, type BenchOptions, type BenchRow } from './lib/bench-row.ts';
import { CLI_BIN, cleanEnv, runTimed } from './lib/run-timed.ts';

/** Milliseconds from spawn until `until` resolves (the process is then left to finish). */
async function msUntil(args: string[], env: NodeJS.ProcessEnv, until: () => Promise<void>): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
  const exited = once(child, 'close');
  await until();
  const ms = performance.now() - started;
  await exited;
  return ms;
}

export async function benchCliStart({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 3 : 15;
  const env = cleanEnv({});
  const nodeMs: number[] = [];
  const versionMs: number[] = [];
  const requestMs: number[] = [];

  let firstCall: (() => void) | undefined;
  const server = http.createServer((_req, res) => {
    firstCall?.();
    res.writeHead(401, { 'content-type': 'application/problem+json' });
    res.end(JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401 }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const requestEnv = cleanEnv({
    COUNTERSIGN_URL: `http://127.0.0.1:${port}`,
    COUNTERSIGN_API_KEY: 'cs_bench-key-000000000000',
  });
  const requestArgs = [CLI_BIN, 'request', '--action', 'deploy.production', '--requester', 'dev@example.com'];

  try {
    // One unmeasured run of each fills the compile cache, as any run after the first finds it.
    await runTimed(process.execPath, [CLI_BIN, '--version'], env);
    await repeat(rounds + 1, async (round) => {
      const node = (await runTimed(process.execPath, ['-e', '0'], env)).seconds * 1000;
      const version = (await runTimed(process.execPath, [CLI_BIN, '--version'], env)).seconds * 1000;
      const request = await msUntil(
        requestArgs,
        requestEnv,
        () => new Promise<void>((resolve) => (firstCall = resolve)),
      );
      if (round === 0) return;
      nodeMs.push(node);
      versionMs.push(version);
      requestMs.push(request);
    });
  } finally {
    server.close();
  }

  const baseline = median(nodeMs);
  const note = `median of ${rounds}; baseline: \`node -e 0\` in the same rounds`;
  return [
    figureBelow(
      {
        name: 'cli --version',
        figure: Math.round(median(versionMs)),
        unit: 'ms',
        baseline: Math.round(baseline),
        note,
      },
      300,
    ),
    figureBelow(
      {
        name: 'cli request → first HTTP call',
        figure: Math.round(median(requestMs)),
        unit: 'ms',
        baseline: Math.round(baseline),
        note,
      },
      500,
    ),
  ];
}
