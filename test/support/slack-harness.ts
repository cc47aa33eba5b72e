// The whole Slack loop for integration tests: a fake Slack Web API, the real server wired to it
// (signature verification on, cards flushed by the durable queue), a signing driver pointed at
// the server's /slack/events (or, in Socket Mode, a fake socket endpoint the server connects to),
// and readers for what the server stored.
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { CARD_METADATA_EVENT } from '../../apps/server/src/chat/slack/slack-transport.ts';
import { createApproval, withPgClient, type Approval } from './api-fixtures.ts';
import {
  findButtons,
  startFakeSlack,
  type FakeSlack,
  type FakeSlackMessage,
  type FakeSlackUserSpec,
  type SlackBlock,
} from './fake-slack.ts';
import { startFakeSlackSocket, type FakeSlackSocket } from './fake-slack-socket.ts';
import { pollUntil, type PollOptions } from './poll.ts';
import { writeTempPolicy, type TempPolicyFile } from './policy-files.ts';
import {
  createSlackDriver,
  type BlockActionOptions,
  type BlockActionsPayload,
  type SlackDriver,
  type SlackSendOptions,
} from './slack-driver.ts';
import type { TestDatabase } from './test-database.ts';
import type { Logger } from '../../apps/server/src/observability/logger.ts';
import { startTestServer, type TestServer } from './test-server.ts';

export const CHANNEL = 'C0APPROVALS';
export const APPROVE = 'countersign_approve';
export const DENY = 'countersign_deny';
export const DENY_MODAL = 'countersign_deny_modal';
export const DENY_REASON_BLOCK = 'countersign_deny_reason';
export const DENY_REASON_INPUT = 'countersign_deny_reason_input';

/** The people of the test workspace; U0NOMAIL has no email on its profile. */
export const SLACK_USERS: Record<string, FakeSlackUserSpec> = {
  U0ALICE: { name: 'alice', realName: 'Alice Adams', email: 'alice@example.com' },
  U0ALICE2: { name: 'alice.two', realName: 'Alice Adams (2nd account)', email: 'Alice@EXAMPLE.com' },
  U0BOB: { name: 'bob', realName: 'Bob Builder', displayName: 'Bob', email: 'bob@example.com' },
  U0CAROL: { name: 'carol', realName: 'Carol Chen', displayName: 'Carol', email: 'carol@example.com' },
  U0DAVE: { name: 'dave', realName: 'Dave Doe', displayName: 'Dave', email: 'dave@example.com' },
  U0ERIN: { name: 'erin', realName: 'Erin Eve', displayName: 'Erin', email: 'erin@example.com' },
  U0NOMAIL: { name: 'nomail', realName: 'No Mail' },
};

/**
 * A policy for click tests: release managers decide; production deploys need two of them; dropping a
 * table needs a reason to deny; alice may approve others' requests; carol owns the deploy bot; erin
 * may decide nothing.
 */
export const TEAM_POLICY_YAML = `groups:
  release-managers: [bob@example.com, carol@example.com, dave@example.com]
agents:
  deploy-bot: { owner: carol@example.com }
defaults:
  channel: slack:${CHANNEL}
rules:
  - name: two-person-deploys
    actions: ["deploy.production"]
    approvers: [group:release-managers]
    quorum: 2
  - name: data-deletion
    actions: ["db.drop"]
    approvers: [group:release-managers]
    denyReason: required
  - name: everything-else
    actions: ["*"]
    approvers: [group:release-managers, alice@example.com]
`;

export interface SlackHarnessOptions {
  /** Reuse a fake (e.g. across a restart); a new one with SLACK_USERS otherwise. */
  fake?: FakeSlack;
  /** Reuse a database (e.g. across a restart); the server makes and drops its own otherwise. */
  database?: TestDatabase;
  /** Reuse a signing secret (across a restart); a random one otherwise. */
  signingSecret?: string;
  /** A policy file's text, written to a temporary file and set as COUNTERSIGN_POLICY. */
  policyYaml?: string;
  env?: Record<string, string>;
  /** Reuse an API key made by an earlier server on the same database (requests are per client). */
  apiKey?: { key: string; clientId: string };
  /** The server's logger (silent unless given), e.g. a capturing one. */
  log?: Logger;
  /** Socket Mode: SLACK_APP_TOKEN instead of SLACK_SIGNING_SECRET; waits for the server's socket. */
  socketMode?: boolean;
}

export interface CardRow {
  id: string;
  channel: string;
  messageId: string | null;
  version: number;
  shownVersion: number;
  postAttemptedAt: Date | null;
  postedAt: Date | null;
}

export interface AuditRow {
  seq: string;
  type: string;
  actor: string;
  payload: Record<string, unknown>;
}

export interface DecisionRow {
  approverEmail: string;
  verdict: string;
  reason: string | null;
  platform: string;
  platformUserId: string | null;
}

export interface ClickOptions extends Partial<BlockActionOptions> {
  send?: SlackSendOptions;
}

export interface SlackHarness {
  fake: FakeSlack;
  t: TestServer;
  driver: SlackDriver;
  /** Socket Mode only: the socket endpoint the server connected to. */
  socket: FakeSlackSocket | undefined;
  signingSecret: string;
  key: string;
  clientId: string;
  /** POST /v1/approvals (channel slack:C0APPROVALS unless the body says otherwise). */
  create(body?: Record<string, unknown>): Promise<Approval>;
  get(id: string): Promise<Approval>;
  /** Waits until the card of `requestId` is posted and its ts stored, and returns the message. */
  waitForCard(requestId: string, channel?: string, poll?: PollOptions): Promise<FakeSlackMessage>;
  /** Waits until the message satisfies `done` (e.g. its buttons are gone). */
  waitForMessage(
    ts: string,
    done: (message: FakeSlackMessage) => boolean,
    what: string,
    channel?: string,
  ): Promise<FakeSlackMessage>;
  /** The block_actions payload of a click on a button of `message`, as Slack builds it. */
  clickPayload(userId: string, message: FakeSlackMessage, actionId: string): BlockActionsPayload;
  /** Sends a signed click on a button of `message` (the button's own block id and value). */
  click(
    userId: string,
    message: FakeSlackMessage,
    actionId: string,
    options?: ClickOptions,
  ): ReturnType<SlackDriver['send']>;
  cardRow(requestId: string, channel?: string): Promise<CardRow | undefined>;
  audit(requestId: string): Promise<AuditRow[]>;
  decisions(requestId: string): Promise<DecisionRow[]>;
  waitForStatus(requestId: string, status: Approval['status']): Promise<Approval>;
  /** Waits for the decision.refused audit event number `count` of a request and returns them all. */
  waitForRefusals(requestId: string, count: number): Promise<AuditRow[]>;
  close(): Promise<void>;
}

/** Every text of a message's blocks, joined: what a reader of the card sees. */
export function blockText(source: { blocks?: SlackBlock[] | undefined } | SlackBlock[] | undefined): string {
  const blocks = Array.isArray(source) ? source : (source?.blocks ?? []);
  const texts: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      for (const [key, member] of Object.entries(value)) {
        if (key === 'text' && typeof member === 'string') texts.push(member);
        else visit(member);
      }
    }
  };
  visit(blocks);
  return texts.join('\n');
}

/** The request id a card message was posted for, from its message metadata. */
export function metadataRequestId(message: FakeSlackMessage): string | undefined {
  if (message.metadata?.event_type !== CARD_METADATA_EVENT) return undefined;
  const id = message.metadata.event_payload['request_id'];
  return typeof id === 'string' ? id : undefined;
}

export function hasButtons(message: FakeSlackMessage): boolean {
  return findButtons(message).length > 0;
}

export async function startSlackHarness(options: SlackHarnessOptions = {}): Promise<SlackHarness> {
  const fake = options.fake ?? (await startFakeSlack({ users: SLACK_USERS }));
  const signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
  let policy: TempPolicyFile | undefined;
  let t: TestServer | undefined;
  let socket: FakeSlackSocket | undefined;
  let apiKey: { key: string; clientId: string };
  try {
    if (options.policyYaml !== undefined) policy = await writeTempPolicy(options.policyYaml);
    if (options.socketMode) socket = await startFakeSlackSocket(fake);
    t = await startTestServer({
      env: {
        SLACK_BOT_TOKEN: fake.botToken,
        ...(socket ? { SLACK_APP_TOKEN: fake.appToken } : { SLACK_SIGNING_SECRET: signingSecret }),
        SLACK_API_URL: fake.url,
        COUNTERSIGN_JOB_POLL_S: '0.5',
        SLACK_POST_INTERVAL_MS: '200',
        ...(policy ? { COUNTERSIGN_POLICY: policy.path } : {}),
        ...options.env,
      },
      ...(options.database ? { database: options.database } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    apiKey = options.apiKey ?? (await t.createKey());
    await socket?.waitForHellos(1);
  } catch (error) {
    await t?.close();
    await socket?.close();
    await policy?.remove();
    if (!options.fake) await fake.close();
    throw error;
  }
  const server = t;
  const { key, clientId } = apiKey;
  const driver = createSlackDriver({
    url: server.url,
    signingSecret,
    responseUrls: () => fake.newResponseUrl(),
  });

  const query = <R>(sql: string, params: unknown[]): Promise<R[]> =>
    withPgClient(server.database.url, async (client) => (await client.query(sql, params)).rows as R[]);

  const cardRow = async (requestId: string, channel = CHANNEL): Promise<CardRow | undefined> => {
    const [row] = await query<CardRow>(
      `SELECT id::text AS "id", channel, message_id AS "messageId", version, shown_version AS "shownVersion",
              post_attempted_at AS "postAttemptedAt", posted_at AS "postedAt"
         FROM chat_cards WHERE request_id = $1 AND channel = $2`,
      [requestId, `slack:${channel}`],
    );
    return row;
  };

  const get = async (id: string): Promise<Approval> => {
    const response = await server.call<Approval>('GET', `/v1/approvals/${id}`, { key });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body;
  };

  const audit = (requestId: string) =>
    query<AuditRow>(
      'SELECT seq::text AS seq, type, actor, payload FROM audit_events WHERE request_id = $1 ORDER BY audit_events.seq',
      [requestId],
    );

  return {
    fake,
    t: server,
    driver,
    socket,
    signingSecret,
    key,
    clientId,
    create: (body = {}) => createApproval(server, key, { channel: `slack:${CHANNEL}`, ...body }),
    get,
    async waitForCard(requestId, channel = CHANNEL, poll = {}) {
      const row = await pollUntil(
        () => cardRow(requestId, channel),
        (card) => Boolean(card?.messageId),
        { what: `the card of ${requestId} to be posted in ${channel}`, ...poll },
      );
      const message = fake.message(channel, row?.messageId ?? '');
      if (!message) throw new Error(`card ${row?.messageId} of ${requestId} is not in the fake's ${channel}`);
      return message;
    },
    waitForMessage: (ts, done, what, channel = CHANNEL) =>
      pollUntil(
        () => fake.message(channel, ts),
        (message): message is FakeSlackMessage => message !== undefined && done(message),
        { what },
      ) as Promise<FakeSlackMessage>,
    clickPayload: (userId, message, actionId) =>
      driver.blockAction({ userId, channelId: message.channel, messageTs: message.ts, actionId, message })
        .payload,
    click: (userId, message, actionId, clickOptions = {}) => {
      const { send, ...overrides } = clickOptions;
      return driver.send(
        driver.blockAction({
          userId,
          channelId: message.channel,
          messageTs: message.ts,
          actionId,
          message,
          ...overrides,
        }),
        send,
      );
    },
    cardRow,
    audit,
    decisions: (requestId) =>
      query<DecisionRow>(
        `SELECT approver_email AS "approverEmail", verdict::text AS verdict, reason, platform,
                platform_user_id AS "platformUserId"
           FROM decisions WHERE request_id = $1 ORDER BY created_at, id`,
        [requestId],
      ),
    waitForStatus: (requestId, status) =>
      pollUntil(
        () => get(requestId),
        (approval) => approval.status === status,
        { what: `request ${requestId} to be ${status}` },
      ),
    waitForRefusals: (requestId, count) =>
      pollUntil(
        async () => (await audit(requestId)).filter((e) => e.type === 'decision.refused'),
        (events) => events.length >= count,
        { what: `${count} decision.refused event(s) for ${requestId}` },
      ),
    async close() {
      await server.close();
      await socket?.close();
      await policy?.remove();
      if (!options.fake) await fake.close();
    },
  };
}
