// Checks the Slack test doubles themselves: the fake Web API through the real WebClient, and the driver's signed requests through an independent HMAC check and Bolt.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, LogLevel, isValidSlackRequest, verifySlackRequest } from '@slack/bolt';
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findButtons, startFakeSlack, type FakeSlack, type SlackBlock } from '../support/fake-slack.ts';
import { createSlackDriver, type SlackDriver } from '../support/slack-driver.ts';

const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
const CHANNEL = 'C0APPROVALS';

const cardBlocks: SlackBlock[] = [
  { type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: '*Deploy* to prod' } },
  {
    type: 'actions',
    block_id: 'decide:req_1',
    elements: [
      {
        type: 'button',
        action_id: 'approve',
        value: 'req_1',
        style: 'primary',
        text: { type: 'plain_text', text: 'Approve' },
        confirm: { title: { type: 'plain_text', text: 'Sure?' } },
      },
      {
        type: 'button',
        action_id: 'deny',
        value: 'req_1',
        style: 'danger',
        text: { type: 'plain_text', text: 'Deny' },
      },
    ],
  },
];

function client(
  fake: FakeSlack,
  extra: { token?: string; rejectRateLimitedCalls?: boolean } = {},
): WebClient {
  return new WebClient(extra.token ?? fake.botToken, {
    slackApiUrl: fake.url,
    retryConfig: { retries: 0 },
    timeout: 2000,
    rejectRateLimitedCalls: extra.rejectRateLimitedCalls ?? false,
    logLevel: LogLevel.ERROR,
  });
}

describe('fake Slack Web API through the real WebClient', () => {
  let fake: FakeSlack;
  let web: WebClient;

  beforeAll(async () => {
    fake = await startFakeSlack({
      users: {
        U0ALICE: { name: 'alice', realName: 'Alice Admin', email: 'alice@example.com' },
        U0NOMAIL: { name: 'nomail', realName: 'No Mail' },
      },
    });
    web = client(fake);
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await fake?.close();
  });

  it('answers auth.test with the bot identity', async () => {
    const result = await web.auth.test();
    expect(result).toMatchObject({
      ok: true,
      user_id: fake.botUserId,
      bot_id: fake.botId,
      team_id: fake.teamId,
      team: 'Countersign Test',
      url: 'https://countersign-test.slack.com/',
    });
    const [call] = fake.calls('auth.test');
    expect(call).toMatchObject({ method: 'auth.test', token: fake.botToken, ok: true, status: 200 });
    expect(call?.contentType).toContain('application/x-www-form-urlencoded');
    expect(call?.at).toBeInstanceOf(Date);
  });

  it('stores a posted message, applies chat.update, and returns both in history with metadata', async () => {
    const metadata = { event_type: 'countersign_request', event_payload: { request_id: 'req_1' } };
    const posted = await web.chat.postMessage({
      channel: CHANNEL,
      text: 'Approval needed',
      blocks: cardBlocks,
      metadata,
    });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe(CHANNEL);
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message?.blocks).toEqual(cardBlocks);
    const second = await web.chat.postMessage({ channel: CHANNEL, text: 'second' });
    expect(second.ts! > posted.ts!).toBe(true);

    const stored = fake.messages(CHANNEL);
    expect(stored.map((m) => m.text)).toEqual(['Approval needed', 'second']);
    expect(stored[0]?.blocks).toEqual(cardBlocks);
    expect(stored[0]?.metadata).toEqual(metadata);
    expect(findButtons(stored[0]!).map((b) => [b.actionId, b.blockId, b.value, b.text])).toEqual([
      ['approve', 'decide:req_1', 'req_1', 'Approve'],
      ['deny', 'decide:req_1', 'req_1', 'Deny'],
    ]);

    const decided: SlackBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: 'Approved by alice' } }];
    const updated = await web.chat.update({
      channel: CHANNEL,
      ts: posted.ts!,
      text: 'Approved',
      blocks: decided,
    });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts: posted.ts });
    expect(fake.message(CHANNEL, posted.ts!)).toMatchObject({
      text: 'Approved',
      blocks: decided,
      updateCount: 1,
    });
    expect(findButtons(fake.message(CHANNEL, posted.ts!)!)).toEqual([]);
    expect(fake.updates(CHANNEL)).toHaveLength(1);

    await expect(web.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'message_not_found' },
    });

    const history = await web.conversations.history({ channel: CHANNEL, include_all_metadata: true });
    expect(history.messages?.map((m) => m.ts)).toEqual([second.ts, posted.ts]);
    expect(history.messages?.[1]).toMatchObject({ text: 'Approved', metadata });
    expect(history.messages?.[1]?.edited).toBeDefined();
    const plain = await web.conversations.history({ channel: CHANNEL });
    expect(plain.messages?.[1]?.metadata).toBeUndefined();
    const newest = await web.conversations.history({ channel: CHANNEL, oldest: posted.ts!, limit: 10 });
    expect(newest.messages?.map((m) => m.ts)).toEqual([second.ts]);
  });

  it('also accepts JSON bodies', async () => {
    const response = await fetch(`${fake.url}chat.postMessage`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${fake.botToken}`,
        'content-type': 'application/json; charset=utf-8',
      },
      body: JSON.stringify({ channel: CHANNEL, text: 'json', blocks: cardBlocks }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, channel: CHANNEL });
    expect(fake.messages(CHANNEL)[0]?.blocks).toEqual(cardBlocks);
  });

  it('serves users.info from the directory, with and without email', async () => {
    const alice = await web.users.info({ user: 'U0ALICE' });
    expect(alice.user).toMatchObject({
      id: 'U0ALICE',
      name: 'alice',
      real_name: 'Alice Admin',
      profile: { email: 'alice@example.com', real_name: 'Alice Admin', display_name: 'alice' },
    });
    const noMail = await web.users.info({ user: 'U0NOMAIL' });
    expect(noMail.user?.profile).toBeDefined();
    expect(noMail.user?.profile && 'email' in noMail.user.profile).toBe(false);
    await expect(web.users.info({ user: 'U0NOBODY' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'user_not_found' },
    });
  });

  it('records views.open and chat.postEphemeral', async () => {
    const view = {
      type: 'modal' as const,
      callback_id: 'deny_reason',
      private_metadata: JSON.stringify({ requestId: 'req_1' }),
      title: { type: 'plain_text' as const, text: 'Deny' },
      blocks: [
        {
          type: 'input' as const,
          block_id: 'reason',
          label: { type: 'plain_text' as const, text: 'Reason' },
          element: { type: 'plain_text_input' as const, action_id: 'value' },
        },
      ],
    };
    const opened = await web.views.open({ trigger_id: '123.456.abc', view });
    expect(opened.view?.id).toMatch(/^V/);
    expect(fake.views()).toMatchObject([{ id: opened.view?.id, triggerId: '123.456.abc', view }]);

    const ephemeral = await web.chat.postEphemeral({
      channel: CHANNEL,
      user: 'U0ALICE',
      text: 'You cannot approve your own request.',
    });
    expect(ephemeral.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.ephemerals()).toMatchObject([
      {
        channel: CHANNEL,
        user: 'U0ALICE',
        text: 'You cannot approve your own request.',
        messageTs: ephemeral.message_ts,
      },
    ]);
    expect(fake.messages(CHANNEL)).toEqual([]);
  });

  it('surfaces an injected 429 as a rate-limited error carrying Retry-After', async () => {
    fake.failNext('chat.postMessage', { status: 429, retryAfterSeconds: 7 });
    const strict = client(fake, { rejectRateLimitedCalls: true });
    await expect(strict.chat.postMessage({ channel: CHANNEL, text: 'hi' })).rejects.toMatchObject({
      code: ErrorCode.RateLimitedError,
      retryAfter: 7,
    });
    expect(fake.calls('chat.postMessage')).toMatchObject([{ status: 429, ok: false, error: 'ratelimited' }]);
    expect(fake.messages(CHANNEL)).toEqual([]);
    await strict.chat.postMessage({ channel: CHANNEL, text: 'hi' });
    expect(fake.messages(CHANNEL)).toHaveLength(1);
  });

  it('surfaces an injected 500 as an HTTP error, and counts faults down', async () => {
    fake.failNext('chat.update', { status: 500 });
    fake.failNext('*', { status: 503 }, 2);
    expect(fake.pendingFaults()).toEqual({ 'chat.update': 1, '*': 2 });
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: 'x' }).catch((e: unknown) => e);
    expect(posted).toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });
    await expect(web.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.HTTPError,
      statusCode: 500,
    });
    await expect(web.auth.test()).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 503 });
    expect(fake.pendingFaults()).toEqual({});
    await expect(web.auth.test()).resolves.toMatchObject({ ok: true });
  });

  it('answers an injected ok:false error with HTTP 200', async () => {
    fake.failNext('chat.postMessage', { error: 'ratelimited' });
    await expect(web.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'ratelimited' },
    });
    expect(fake.calls('chat.postMessage')[0]).toMatchObject({ status: 200, error: 'ratelimited' });
  });

  it('delays an answer on request (a client timeout then surfaces as a request error)', async () => {
    fake.failNext('users.info', { delayMs: 600 });
    const impatient = new WebClient(fake.botToken, {
      slackApiUrl: fake.url,
      retryConfig: { retries: 0 },
      timeout: 200,
      logLevel: LogLevel.ERROR,
    });
    await expect(impatient.users.info({ user: 'U0ALICE' })).rejects.toMatchObject({
      code: ErrorCode.RequestError,
    });
    await expect(impatient.users.info({ user: 'U0ALICE' })).resolves.toMatchObject({ ok: true });
  });

  it('refuses a wrong token with invalid_auth', async () => {
    const wrong = client(fake, { token: 'xoxb-not-the-right-one' });
    await expect(wrong.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'invalid_auth' },
    });
    expect(fake.messages(CHANNEL)).toEqual([]);
    expect(fake.calls('chat.postMessage')[0]?.token).toBe('xoxb-not-the-right-one');
  });

  it('opens a Socket Mode connection for the app token only; the bot token is refused there', async () => {
    const app = client(fake, { token: fake.appToken });
    await expect(app.apps.connections.open({})).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    });
    fake.setConnectionsOpen(() => 'ws://127.0.0.1:1/link/?ticket=t1');
    try {
      await expect(app.apps.connections.open({})).resolves.toMatchObject({
        ok: true,
        url: 'ws://127.0.0.1:1/link/?ticket=t1',
      });
      await expect(web.apps.connections.open({})).rejects.toMatchObject({
        data: { error: 'not_allowed_token_type' },
      });
      await expect(app.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
        data: { error: 'not_allowed_token_type' },
      });
    } finally {
      fake.setConnectionsOpen(undefined);
    }
  });

  it('answers token_revoked to every bot call once the bot token is revoked', async () => {
    fake.revokeBotToken();
    await expect(web.chat.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
      code: ErrorCode.PlatformError,
      data: { error: 'token_revoked' },
    });
    await expect(web.auth.test()).rejects.toMatchObject({ data: { error: 'token_revoked' } });
    expect(fake.messages(CHANNEL)).toEqual([]);
  });

  it('takes a file through getUploadURLExternal, the upload URL and completeUploadExternal', async () => {
    const content = 'id,verdict\nreq_1,approved\n';
    const result = await web.filesUploadV2({
      channel_id: CHANNEL,
      filename: 'report.csv',
      title: 'Weekly report',
      content,
      initial_comment: 'Weekly approvals report',
    });
    expect(result.ok).toBe(true);
    const [file] = fake.files();
    expect(file).toMatchObject({
      filename: 'report.csv',
      title: 'Weekly report',
      completed: true,
      channelId: CHANNEL,
    });
    expect(file?.bytes?.toString('utf8')).toBe(content);
    expect(fake.messages(CHANNEL)).toMatchObject([
      { text: 'Weekly approvals report', files: [{ id: file?.id, name: 'report.csv' }] },
    ]);
  });
});

interface Captured {
  headers: IncomingHttpHeaders;
  rawBody: string;
}

/** A bare HTTP server that records what the driver sends. */
async function startCapture(): Promise<{ url: string; received: Captured[]; server: Server }> {
  const received: Captured[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

/** The independent check: recompute Slack's v0 HMAC and compare in constant time. */
function signatureValid(secret: string, captured: Captured): boolean {
  const timestamp = captured.headers['x-slack-request-timestamp'];
  const signature = captured.headers['x-slack-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = Buffer.from(
    `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${captured.rawBody}`).digest('hex')}`,
  );
  const actual = Buffer.from(signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function boltValid(secret: string, captured: Captured, nowMs = Date.now()): boolean {
  return isValidSlackRequest({
    signingSecret: secret,
    body: captured.rawBody,
    headers: {
      'x-slack-signature': String(captured.headers['x-slack-signature']),
      'x-slack-request-timestamp': Number(captured.headers['x-slack-request-timestamp']),
    },
    nowMilliseconds: nowMs,
  });
}

const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string(), username: z.string(), name: z.string(), team_id: z.string() }),
  container: z.object({
    type: z.literal('message'),
    message_ts: z.string(),
    channel_id: z.string(),
    is_ephemeral: z.boolean(),
  }),
  channel: z.object({ id: z.string(), name: z.string() }),
  message: z.object({
    ts: z.string(),
    text: z.string(),
    blocks: z.array(z.looseObject({ type: z.string() })),
  }),
  actions: z.array(
    z.object({
      type: z.literal('button'),
      action_id: z.string(),
      block_id: z.string(),
      value: z.string(),
      action_ts: z.string(),
    }),
  ),
  trigger_id: z.string(),
  response_url: z.string(),
  api_app_id: z.string(),
  token: z.string(),
  team: z.object({ id: z.string(), domain: z.string() }),
});

describe('Slack driver signatures', () => {
  let capture: Awaited<ReturnType<typeof startCapture>>;
  let driver: SlackDriver;

  beforeAll(async () => {
    capture = await startCapture();
    driver = createSlackDriver({ url: capture.url, signingSecret: SIGNING_SECRET });
  });
  afterAll(async () => {
    capture?.server.closeAllConnections();
    await new Promise<void>((resolve) => capture?.server.close(() => resolve()));
  });

  it('signs a block action so that an independent HMAC check and Bolt both accept it', async () => {
    const request = driver.blockAction({
      userId: 'U0ALICE',
      channelId: CHANNEL,
      messageTs: '1795306615.000100',
      actionId: 'approve',
      message: { text: 'Approval needed', blocks: cardBlocks },
    });
    const response = await driver.send(request, { retryNum: 1, retryReason: 'http_timeout' });
    expect(response.status).toBe(200);
    const captured = capture.received.at(-1)!;
    expect(captured.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(captured.headers['x-slack-retry-num']).toBe('1');
    expect(captured.headers['x-slack-retry-reason']).toBe('http_timeout');
    expect(captured.rawBody).toBe(request.body);
    expect(captured.rawBody.startsWith('payload=')).toBe(true);
    expect(signatureValid(SIGNING_SECRET, captured)).toBe(true);
    expect(signatureValid('another-secret', captured)).toBe(false);
    expect(boltValid(SIGNING_SECRET, captured)).toBe(true);
    expect(() =>
      verifySlackRequest({
        signingSecret: SIGNING_SECRET,
        body: captured.rawBody,
        headers: {
          'x-slack-signature': String(captured.headers['x-slack-signature']),
          'x-slack-request-timestamp': Number(captured.headers['x-slack-request-timestamp']),
        },
      }),
    ).not.toThrow();

    const payload = blockActionsSchema.parse(
      JSON.parse(new URLSearchParams(captured.rawBody).get('payload') ?? ''),
    );
    expect(payload.actions).toEqual([
      expect.objectContaining({ action_id: 'approve', block_id: 'decide:req_1', value: 'req_1' }),
    ]);
    expect(payload.container).toEqual({
      type: 'message',
      message_ts: '1795306615.000100',
      channel_id: CHANNEL,
      is_ephemeral: false,
    });
    expect(payload.user.id).toBe('U0ALICE');
  });

  it('corrupts, skews or omits the signature on request', async () => {
    await driver.send(driver.urlVerification('challenge-1'), { corruptSignature: true });
    const corrupted = capture.received.at(-1)!;
    expect(corrupted.headers['content-type']).toBe('application/json');
    expect(signatureValid(SIGNING_SECRET, corrupted)).toBe(false);
    expect(boltValid(SIGNING_SECRET, corrupted)).toBe(false);

    await driver.send(
      driver.slashCommand({ userId: 'U0ALICE', channelId: CHANNEL, command: '/countersign', text: 'list' }),
      {
        skewSeconds: -600,
      },
    );
    const stale = capture.received.at(-1)!;
    expect(signatureValid(SIGNING_SECRET, stale)).toBe(true); // signed correctly, just old
    expect(Number(stale.headers['x-slack-request-timestamp'])).toBeLessThan(Date.now() / 1000 - 590);
    expect(boltValid(SIGNING_SECRET, stale)).toBe(false);
    const form = new URLSearchParams(stale.rawBody);
    expect(Object.fromEntries(form)).toMatchObject({
      command: '/countersign',
      text: 'list',
      user_id: 'U0ALICE',
      channel_id: CHANNEL,
    });

    await driver.send('payload=%7B%7D', 'application/x-www-form-urlencoded', { omitSignature: true });
    expect(capture.received.at(-1)?.headers['x-slack-signature']).toBeUndefined();
  });
});

describe('driver and fake together against a real Bolt app', () => {
  let fake: FakeSlack;
  let server: Server;
  let driver: SlackDriver;
  const seen: {
    actions: string[];
    retryNums: (number | undefined)[];
    submissions: string[];
    commands: string[];
  } = {
    actions: [],
    retryNums: [],
    submissions: [],
    commands: [],
  };

  beforeAll(async () => {
    fake = await startFakeSlack({ users: { U0ALICE: { name: 'alice', email: 'alice@example.com' } } });
    const receiver = new ExpressReceiver({
      signingSecret: SIGNING_SECRET,
      endpoints: '/slack/events',
      processBeforeResponse: true,
      logLevel: LogLevel.ERROR,
    });
    const app = new App({
      token: fake.botToken,
      receiver,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: fake.url, retryConfig: { retries: 0 }, timeout: 2000 },
    });
    app.action('approve', async ({ ack, body, context, client: web }) => {
      await ack();
      if (body.type !== 'block_actions') return;
      seen.actions.push(body.actions[0]?.action_id ?? '');
      seen.retryNums.push(context.retryNum);
      const who = await web.users.info({ user: body.user.id });
      await web.chat.postEphemeral({
        channel: body.channel?.id ?? '',
        user: body.user.id,
        text: `clicked by ${who.user?.profile?.email ?? '?'}`,
      });
    });
    app.action('deny', async ({ ack, body, client: web }) => {
      await ack();
      if (body.type !== 'block_actions') return;
      await web.views.open({
        trigger_id: body.trigger_id,
        view: {
          type: 'modal',
          callback_id: 'deny_reason',
          private_metadata: 'req_1',
          title: { type: 'plain_text', text: 'Deny' },
          blocks: [],
        },
      });
    });
    app.view('deny_reason', async ({ ack, view }) => {
      seen.submissions.push(
        `${view.private_metadata}:${view.state.values['reason']?.['value']?.value ?? ''}`,
      );
      await ack();
    });
    app.command('/countersign', async ({ ack, command, respond }) => {
      seen.commands.push(command.text);
      await ack({ text: 'ok' });
      await respond({ response_type: 'ephemeral', text: `later: ${command.text}` });
    });
    server = receiver.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    driver = createSlackDriver({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      signingSecret: SIGNING_SECRET,
      responseUrls: () => fake.newResponseUrl(),
    });
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await fake?.close();
  });

  it('delivers a signed click that Bolt routes, and the handler reaches the fake', async () => {
    const posted = await client(fake).chat.postMessage({
      channel: CHANNEL,
      text: 'card',
      blocks: cardBlocks,
    });
    const message = fake.message(CHANNEL, posted.ts!)!;
    const response = await driver.send(
      driver.blockAction({
        userId: 'U0ALICE',
        channelId: CHANNEL,
        messageTs: message.ts,
        actionId: 'approve',
        message,
      }),
    );
    expect(response.status).toBe(200);
    expect(seen.actions).toEqual(['approve']);
    const [ephemeral] = await fake.waitForEphemerals(1, { timeoutMs: 5000 });
    expect(ephemeral).toMatchObject({ user: 'U0ALICE', text: 'clicked by alice@example.com' });
    expect(fake.calls('auth.test').length).toBeGreaterThanOrEqual(1);
  });

  it('opens a modal on Deny and delivers its submission', async () => {
    const message = { text: 'card', blocks: cardBlocks };
    const click = await driver.send(
      driver.blockAction({
        userId: 'U0ALICE',
        channelId: CHANNEL,
        messageTs: '1795306615.000100',
        actionId: 'deny',
        message,
      }),
    );
    expect(click.status).toBe(200);
    const [opened] = await fake.waitForViews(1, { timeoutMs: 5000 });
    expect(opened?.view.callback_id).toBe('deny_reason');
    const submit = await driver.send(
      driver.viewSubmission({
        userId: 'U0ALICE',
        callbackId: 'deny_reason',
        privateMetadata: opened?.view.private_metadata ?? '',
        values: { reason: { value: 'not during the freeze' } },
        viewId: opened?.id ?? '',
      }),
    );
    expect(submit.status).toBe(200);
    expect(seen.submissions).toEqual(['req_1:not during the freeze']);
  });

  it('delivers slash commands and url_verification', async () => {
    const command = await driver.send(
      driver.slashCommand({
        userId: 'U0ALICE',
        channelId: CHANNEL,
        command: '/countersign',
        text: 'pending',
      }),
    );
    expect(command.status).toBe(200);
    expect(command.body).toEqual({ text: 'ok' });
    expect(seen.commands).toEqual(['pending']);
    expect(fake.responses()).toMatchObject([
      { body: { response_type: 'ephemeral', text: 'later: pending' } },
    ]);
    expect(fake.responses()[0]?.url).toBe(new URLSearchParams(command.sent.rawBody).get('response_url'));
    const verification = await driver.send(driver.urlVerification('abc123'));
    expect(verification.status).toBe(200);
    expect(verification.body).toEqual({ challenge: 'abc123' });
  });

  it('is refused by Bolt with a corrupted signature or a stale timestamp', async () => {
    const before = seen.actions.length;
    const click = driver.blockAction({
      userId: 'U0ALICE',
      channelId: CHANNEL,
      messageTs: '1.000100',
      actionId: 'approve',
    });
    expect((await driver.send(click, { corruptSignature: true })).status).toBe(401);
    expect((await driver.send(click, { skewSeconds: -301 })).status).toBe(401);
    expect((await driver.send(click, { secret: 'wrong-secret' })).status).toBe(401);
    expect(seen.actions.length).toBe(before);
  });

  it('passes X-Slack-Retry-Num through to Bolt, and Bolt alone accepts future timestamps', async () => {
    const click = driver.blockAction({
      userId: 'U0ALICE',
      channelId: CHANNEL,
      messageTs: '1.000200',
      actionId: 'approve',
    });
    seen.retryNums.length = 0;
    expect((await driver.send(click)).status).toBe(200);
    expect((await driver.send(click, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(200);
    expect(seen.retryNums).toEqual([undefined, 1]);
    // Bolt only bounds the past (platform notes): the app must refuse this one itself.
    expect((await driver.send(click, { skewSeconds: 600 })).status).toBe(200);
  });
});
