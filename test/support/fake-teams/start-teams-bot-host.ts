// Starts teams-bot-host.ts in a child process (NODE_EXTRA_CA_CERTS only works at process start)
// and gives the test its URL, its JSON log lines and the card transport over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HostReply, HostRequest } from './teams-bot-host.ts';
import { cliEnv } from '../cli.ts';
import { REPO_ROOT } from '../cli.ts';

const HOST_SCRIPT = fileURLToPath(new URL('./teams-bot-host.ts', import.meta.url));

export type TransportResult = Omit<Extract<HostReply, { ok: false }>, 'id'> | { ok: true; result: unknown };

export interface TeamsBotHost {
  url: string;
  child: ChildProcess;
  logLines(): Record<string, unknown>[];
  postCard(conversationId: string, card: Record<string, unknown>): Promise<TransportResult>;
  updateCard(
    conversationId: string,
    activityId: string,
    card: Record<string, unknown>,
  ): Promise<TransportResult>;
  stop(): Promise<void>;
}

export async function startTeamsBotHost(env: Record<string, string>): Promise<TeamsBotHost> {
  const child = fork(HOST_SCRIPT, [], {
    cwd: REPO_ROOT,
    env: cliEnv({ LOG_LEVEL: 'debug', ...env }),
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    // TEAMS_HOST_STDERR=1 shows the host's stderr while debugging a test.
    if (process.env['TEAMS_HOST_STDERR']) process.stderr.write(chunk);
  });
  const logLines = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bot host did not start\n${stdout}\n${stderr}`)), 60_000);
    const check = () => {
      const line = logLines().find((l) => l['msg'] === 'teams bot host listening');
      if (line) {
        clearTimeout(timer);
        resolve(String(line['url']));
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bot host exited (${code})\n${stdout}\n${stderr}`));
    });
  });
  let nextId = 0;
  const pending = new Map<number, (reply: HostReply) => void>();
  child.on('message', (reply: HostReply) => pending.get(reply.id)?.(reply));
  const call = (op: HostRequest['op'], args: unknown[]) =>
    new Promise<TransportResult>((resolve) => {
      const id = ++nextId;
      pending.set(id, (reply) => {
        pending.delete(id);
        const { id: _id, ...rest } = reply;
        resolve(rest);
      });
      child.send({ id, op, args } satisfies HostRequest);
    });
  return {
    url,
    child,
    logLines,
    postCard: (conversationId, card) => call('postCard', [conversationId, card]),
    updateCard: (conversationId, activityId, card) => call('updateCard', [conversationId, activityId, card]),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
