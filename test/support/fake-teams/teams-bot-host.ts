// Child process for Teams tests: the real Teams platform layer (endpoint with verification on,
// TeamsBot, card transport) around a minimal express app, configured only through the
// environment (config.ts), started with NODE_EXTRA_CA_CERTS so it trusts the https token service.
// Its handlers echo what they were given, so tests can see the parsed inputs:
// - a card action answers with a card whose first TextBlock is JSON {action, identity};
//   verb "boom" throws, verb "say" answers with a message;
// - a message is answered with a message holding JSON {message}; "boom" throws; "file" offers a file;
// - a file consent result is answered with JSON {fileConsent}.
// The parent drives the card transport over IPC: {id, op: 'postCard'|'updateCard', args}.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pinoHttp } from 'pino-http';
import { answerWithCard, answerWithMessage } from '../../../apps/server/src/chat/teams/answer-invoke.ts';
import { classifyTeamsError } from '../../../apps/server/src/chat/teams/classify-teams-error.ts';
import { createTeamsIntegration } from '../../../apps/server/src/chat/teams/create-teams-integration.ts';
import { resolveTeamsSettings } from '../../../apps/server/src/chat/teams/resolve-teams-settings.ts';
import { loadConfig } from '../../../apps/server/src/config.ts';
import { createDatabase } from '../../../apps/server/src/db/client.ts';
import { systemClock } from '../../../apps/server/src/deps.ts';
import { problemHandler, routeNotFound } from '../../../apps/server/src/http/problem.ts';
import { createLogger } from '../../../apps/server/src/observability/logger.ts';

export interface HostRequest {
  id: number;
  op: 'postCard' | 'updateCard';
  args: unknown[];
}

export type HostReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; message: string; classified: ReturnType<typeof classifyTeamsError> };

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(config.LOG_LEVEL);
  const settings = resolveTeamsSettings(config);
  if (!settings || !config.DATABASE_URL) throw new Error('Teams settings and DATABASE_URL are required');
  const db = createDatabase(config.DATABASE_URL);
  const teams = createTeamsIntegration({ db, clock: systemClock, log }, settings, {
    async onCardAction(action, turn) {
      if (action.verb === 'boom') throw new Error('the bot logic failed on purpose');
      if (action.verb === 'say') return answerWithMessage(`you said ${JSON.stringify(action.data)}`);
      const identity = await turn.resolveSender();
      return answerWithCard({
        type: 'AdaptiveCard',
        version: '1.5',
        body: [{ type: 'TextBlock', text: JSON.stringify({ action, identity }) }],
      });
    },
    async onMessage(message, turn) {
      if (message.text === 'boom') throw new Error('the message handler failed on purpose');
      if (message.text === 'file') {
        await turn.offerFile({ name: 'report.csv', content: Buffer.from('id,status\nr1,approved\n') });
        return;
      }
      await turn.reply(JSON.stringify({ message }));
    },
    async onFileConsent(result, turn) {
      await turn.reply(JSON.stringify({ fileConsent: result }));
    },
  });

  const app = express();
  app.use(pinoHttp({ logger: log }));
  app.use(teams.router);
  app.use(routeNotFound);
  app.use(problemHandler);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  process.on('message', (request: HostRequest) => {
    void (async () => {
      let reply: HostReply;
      try {
        const result =
          request.op === 'postCard'
            ? await teams.transport.postCard(
                request.args[0] as string,
                request.args[1] as Record<string, unknown>,
              )
            : await teams.transport.updateCard(
                request.args[0] as string,
                request.args[1] as string,
                request.args[2] as Record<string, unknown>,
              );
        reply = { id: request.id, ok: true, result: result ?? null };
      } catch (error) {
        reply = {
          id: request.id,
          ok: false,
          message: error instanceof Error ? error.message : String(error),
          classified: classifyTeamsError(error),
        };
      }
      process.send?.(reply);
    })();
  });
  process.on('SIGTERM', () => {
    server.close();
    void db.close().finally(() => process.exit(0));
  });
  log.info({ url: `http://127.0.0.1:${port}` }, 'teams bot host listening');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
