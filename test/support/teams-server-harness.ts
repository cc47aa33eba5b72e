// The whole Teams loop for end-to-end tests: the local Microsoft side (https token service,
// channel with OpenID/JWKS and connector), the real server as a child process configured by the
// same variables a sovereign-cloud deployment sets (NODE_EXTRA_CA_CERTS must be there at process
// start), a callback receiver, and helpers that act as Teams members. Slack can run beside it.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import type { Approval } from './api-fixtures.ts';
import { startCallbackReceiver, type CallbackReceiver } from './callback-receiver.ts';
import { cliEnv, freePort, runCli, startCli, type CliProcess } from './cli.ts';
import { startFakeTeams, type FakeTeams, type StartFakeTeamsOptions } from './fake-teams/start-fake-teams.ts';
import {
  sendActivity,
  teamsActivities,
  type FakeConversation,
  type FakeTeamsUser,
  type SentActivity,
} from './fake-teams/teams-activities.ts';
import type { FakeTeamsMessage } from './fake-teams/fake-teams-channel.ts';
import { pollUntil } from './poll.ts';
import { writeTempPolicy, type TempPolicyFile } from './policy-files.ts';
import { createMigratedTestDatabase, type TestDatabase } from './test-database.ts';

export interface TeamsServerOptions {
  policyYaml: string;
  teams?: StartFakeTeamsOptions;
  /** Extra server environment (e.g. Slack's variables). */
  env?: Record<string, string>;
  /** Reuse across a restart. */
  fake?: FakeTeams;
  database?: TestDatabase;
  receiver?: CallbackReceiver;
  apiKey?: ApiKeyJson;
}

const apiKeySchema = z.object({ key: z.string(), clientId: z.string(), callbackSecret: z.string() });
export type ApiKeyJson = z.infer<typeof apiKeySchema>;

export interface TeamsServer {
  fake: FakeTeams;
  database: TestDatabase;
  db: Database;
  receiver: CallbackReceiver;
  serve: CliProcess;
  url: string;
  apiKey: ApiKeyJson;
  /** POST /v1/approvals with the harness key; insists on 201. */
  create(body: Record<string, unknown>): Promise<Approval>;
  get(id: string): Promise<Approval>;
  /** The bot is added to `where` by `by` (conversationUpdate), and the member roster is set. */
  install(where: FakeConversation, by: FakeTeamsUser): Promise<SentActivity>;
  /** Waits for the card message of `requestId` in `conversationId` (the stored activity id). */
  waitForCard(requestId: string, conversationId: string): Promise<FakeTeamsMessage>;
  click(
    where: FakeConversation,
    who: FakeTeamsUser,
    card: { id: string },
    verb: string,
    data: Record<string, unknown>,
  ): Promise<SentActivity>;
  waitForStatus(id: string, status: Approval['status']): Promise<Approval>;
  /** Stops the server only (keeps database, fakes and receiver), for restarts. */
  stopServer(): Promise<void>;
  close(): Promise<void>;
}

export async function startTeamsServer(options: TeamsServerOptions): Promise<TeamsServer> {
  const fake = options.fake ?? (await startFakeTeams(options.teams ?? {}));
  const database = options.database ?? (await createMigratedTestDatabase());
  const policy: TempPolicyFile = await writeTempPolicy(options.policyYaml);
  const receiver = options.receiver ?? (await startCallbackReceiver({ secret: 'set-below' }));
  const port = await freePort();
  const env = cliEnv({
    ...fake.env,
    DATABASE_URL: database.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    COUNTERSIGN_POLICY: policy.path,
    COUNTERSIGN_CALLBACK_ALLOW: '127.0.0.0/8',
    COUNTERSIGN_CALLBACK_RETRY_DELAY_S: '1',
    COUNTERSIGN_JOB_POLL_S: '0.5',
    COUNTERSIGN_EXPIRY_SWEEP_MS: '500',
    COUNTERSIGN_CHAT_POST_INTERVAL_MS: '100',
    ...options.env,
  });
  const serve = startCli(['serve'], env);
  const listening = await serve.waitForLog((l) => l['msg'] === 'countersign is listening');
  const url = String(listening['url']);
  let apiKey = options.apiKey;
  if (!apiKey) {
    const created = await runCli(
      ['keys', 'create', '--json', '--name', `teams-${randomBytes(3).toString('hex')}`],
      env,
    );
    apiKey = apiKeySchema.parse(JSON.parse(created.stdout));
  }
  receiver.setSecret(apiKey.callbackSecret);
  const key = apiKey;
  const db = createDatabase(database.url, { maxConnections: 2 });

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  };
  const get = async (id: string) => (await api('GET', `/v1/approvals/${id}`)).body as Approval;
  let stopped = false;
  const stopServer = async () => {
    if (stopped) return;
    stopped = true;
    serve.child.kill('SIGTERM');
    await serve.exited;
  };

  return {
    fake,
    database,
    db,
    receiver,
    serve,
    url,
    apiKey: key,
    async create(body) {
      const response = await api('POST', '/v1/approvals', {
        requester: { email: 'alice@example.com' },
        callbackUrl: receiver.urlFor('/hooks/teams'),
        ...body,
      });
      if (response.status !== 201)
        throw new Error(`create answered ${response.status}: ${JSON.stringify(response.body)}`);
      return response.body as Approval;
    },
    get,
    install: (where, by) =>
      sendActivity(url, fake.channel, teamsActivities.botAdded(fake.channel, where, by)),
    async waitForCard(requestId, conversationId) {
      const row = await pollUntil(
        () =>
          db.prisma.chatCard.findUnique({
            where: { requestId_channel: { requestId, channel: `teams:${conversationId}` } },
          }),
        (card) => Boolean(card?.messageId),
        { what: `Teams card of ${requestId}` },
      );
      const message = fake.channel.message(row?.messageId ?? '');
      if (!message) throw new Error(`the fake channel has no message ${row?.messageId}`);
      return message;
    },
    click: (where, who, card, verb, data) =>
      sendActivity(
        url,
        fake.channel,
        teamsActivities.cardAction(fake.channel, where, who, { verb, data, cardActivityId: card.id }),
      ),
    waitForStatus: (id, status) =>
      pollUntil(
        () => get(id),
        (a) => a.status === status,
        { what: `status ${status}` },
      ),
    stopServer,
    async close() {
      await stopServer();
      await db.close();
      await policy.remove();
      if (!options.receiver) await receiver.close();
      if (!options.database) await database.drop();
      if (!options.fake) await fake.close();
    },
  };
}
