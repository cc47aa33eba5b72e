// Sends Slack-signed interaction payloads, slash commands and events to the server's /slack/events exactly as Slack does.
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import {
  FAKE_SLACK_DEFAULTS,
  findButtons,
  type SlackBlock,
  type SlackMessageMetadata,
} from './fake-slack.ts';

/** `v0=<hex HMAC-SHA256(secret, 'v0:' + timestamp + ':' + rawBody)>` — Slack's request signature. */
export function slackSignature(secret: string, timestampSeconds: number, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestampSeconds}:${rawBody}`).digest('hex')}`;
}

/** A request body ready to send, with its content type and the payload it encodes. */
export interface SlackRequest<P = unknown> {
  body: string;
  contentType: string;
  payload: P;
}

export interface SlackSendOptions {
  /** X-Slack-Request-Timestamp (seconds) used in the header and the signature; now unless given. */
  timestamp?: number;
  /** Added to the timestamp: e.g. -600 for a stale request, +600 for one from the future. */
  skewSeconds?: number;
  /** Flips the last hex digit of an otherwise correct signature. */
  corruptSignature?: boolean;
  /** Signs with this secret instead of the driver's. */
  secret?: string;
  /** Sent verbatim as X-Slack-Signature. */
  signature?: string;
  omitSignature?: boolean;
  omitTimestamp?: boolean;
  /** X-Slack-Retry-Num (Slack's redelivery counter; 1 on the first retry). */
  retryNum?: number;
  /** X-Slack-Retry-Reason, e.g. 'http_timeout' or 'http_error'. */
  retryReason?: string;
  headers?: Record<string, string>;
  /** Abort the request after this long (10 s unless given). */
  timeoutMs?: number;
}

export interface SlackResponse<T = unknown> {
  status: number;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: T;
  text: string;
  headers: Headers;
  /** What went over the wire. */
  sent: { rawBody: string; headers: Record<string, string>; timestamp: number };
}

export interface SlackDriverOptions {
  /** The server's base URL (http://127.0.0.1:PORT) or the full endpoint URL when `path` is ''. */
  url: string;
  signingSecret: string;
  /** '/slack/events' unless given. */
  path?: string;
  teamId?: string;
  teamDomain?: string;
  apiAppId?: string;
  /** The legacy verification token put in payloads. */
  verificationToken?: string;
  /** Mints response_urls when a builder is not given one (e.g. `() => fake.newResponseUrl()`). */
  responseUrls?: () => string;
  /** Clock for timestamps, in ms (Date.now unless given). */
  now?: () => number;
}

export interface SlackUserRef {
  id: string;
  username: string;
  name: string;
  team_id: string;
}

export interface SlackTeamRef {
  id: string;
  domain: string;
}

export interface ButtonActionPayload {
  type: 'button';
  action_id: string;
  block_id: string;
  value?: string;
  style?: string;
  text: { type: 'plain_text'; text: string; emoji: boolean };
  action_ts: string;
}

export interface BlockActionsPayload {
  type: 'block_actions';
  user: SlackUserRef;
  api_app_id: string;
  token: string;
  container: { type: 'message'; message_ts: string; channel_id: string; is_ephemeral: boolean };
  trigger_id: string;
  team: SlackTeamRef;
  enterprise: null;
  is_enterprise_install: boolean;
  channel: { id: string; name: string };
  message: {
    type: 'message';
    subtype?: string;
    ts: string;
    text: string;
    user: string;
    bot_id: string;
    app_id: string;
    team: string;
    blocks: SlackBlock[];
    metadata?: SlackMessageMetadata;
  };
  state: { values: Record<string, Record<string, ViewStateValue>> };
  response_url: string;
  actions: ButtonActionPayload[];
}

export interface ViewStateValue {
  type: string;
  value?: string | null;
  [key: string]: unknown;
}

export interface ViewSubmissionPayload {
  type: 'view_submission';
  team: SlackTeamRef;
  user: SlackUserRef;
  api_app_id: string;
  token: string;
  trigger_id: string;
  view: {
    id: string;
    team_id: string;
    type: 'modal';
    blocks: SlackBlock[];
    private_metadata: string;
    callback_id: string;
    state: { values: Record<string, Record<string, ViewStateValue>> };
    hash: string;
    title: { type: 'plain_text'; text: string; emoji: boolean };
    clear_on_close: boolean;
    notify_on_close: boolean;
    close: null;
    submit: { type: 'plain_text'; text: string; emoji: boolean } | null;
    previous_view_id: null;
    root_view_id: string;
    app_id: string;
    external_id: string;
    app_installed_team_id: string;
    bot_id: string;
  };
  response_urls: never[];
  is_enterprise_install: boolean;
  enterprise: null;
}

export interface SlashCommandPayload {
  token: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  user_id: string;
  user_name: string;
  command: string;
  text: string;
  api_app_id: string;
  is_enterprise_install: 'false';
  response_url: string;
  trigger_id: string;
}

export interface UrlVerificationPayload {
  token: string;
  challenge: string;
  type: 'url_verification';
}

export interface EventCallbackPayload {
  token: string;
  team_id: string;
  api_app_id: string;
  event: Record<string, unknown>;
  type: 'event_callback';
  event_id: string;
  event_time: number;
  authorizations: { enterprise_id: null; team_id: string; user_id: string; is_bot: boolean }[];
  is_ext_shared_channel: boolean;
  event_context: string;
}

export interface BlockActionOptions {
  userId: string;
  userName?: string;
  teamId?: string;
  channelId: string;
  channelName?: string;
  messageTs: string;
  actionId: string;
  /** Taken from `message.blocks` (the block holding `actionId`) when left out; else 'actions'. */
  blockId?: string;
  /** Taken from the button in `message.blocks` when left out. */
  value?: string;
  /** The button label; taken from `message.blocks` when left out. */
  buttonText?: string;
  triggerId?: string;
  responseUrl?: string;
  actionTs?: string;
  /** The message the button sits on, as Slack would echo it (e.g. from fake.message(...)). */
  message?: {
    text?: string | undefined;
    blocks?: SlackBlock[] | undefined;
    metadata?: SlackMessageMetadata | undefined;
    user?: string;
    botId?: string;
  };
  isEphemeral?: boolean;
}

export interface ViewSubmissionOptions {
  userId: string;
  userName?: string;
  teamId?: string;
  callbackId: string;
  privateMetadata?: string;
  /** block id → action id → a string (a plain_text_input's value), null, or a full state value. */
  values?: Record<string, Record<string, string | null | ViewStateValue>>;
  viewId?: string;
  triggerId?: string;
  /** The view's blocks (e.g. from fake.views()). */
  blocks?: SlackBlock[];
  title?: string;
}

export interface SlashCommandOptions {
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  command: string;
  text?: string;
  triggerId?: string;
  responseUrl?: string;
  teamId?: string;
  teamDomain?: string;
}

export interface EventCallbackOptions {
  event: Record<string, unknown>;
  eventId?: string;
  eventTime?: number;
  teamId?: string;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

function plainText(text: string): { type: 'plain_text'; text: string; emoji: boolean } {
  return { type: 'plain_text', text, emoji: true };
}

export class SlackDriver {
  readonly endpoint: string;
  readonly signingSecret: string;
  readonly teamId: string;
  readonly teamDomain: string;
  readonly apiAppId: string;
  readonly verificationToken: string;
  private readonly responseUrls: () => string;
  private readonly now: () => number;

  constructor(options: SlackDriverOptions) {
    this.endpoint = `${options.url.replace(/\/$/, '')}${options.path ?? '/slack/events'}`;
    this.signingSecret = options.signingSecret;
    this.teamId = options.teamId ?? FAKE_SLACK_DEFAULTS.teamId;
    this.teamDomain = options.teamDomain ?? FAKE_SLACK_DEFAULTS.teamDomain;
    this.apiAppId = options.apiAppId ?? FAKE_SLACK_DEFAULTS.appId;
    this.verificationToken = options.verificationToken ?? 'fake-verification-token';
    this.now = options.now ?? Date.now;
    this.responseUrls =
      options.responseUrls ??
      (() =>
        `https://hooks.slack.com/actions/${this.teamId}/${randomInt(1e9, 1e10)}/${randomBytes(12).toString('hex')}`);
  }

  /** A trigger id shaped like Slack's ('<digits>.<digits>.<hex>'). */
  newTriggerId(): string {
    return `${randomInt(1e10, 1e11)}.${randomInt(1e9, 1e10)}.${randomBytes(16).toString('hex')}`;
  }

  /** An action_ts / event ts for now: '<seconds>.<micro>'. */
  nowTs(): string {
    const ms = this.now();
    return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000 + randomInt(0, 1000)).padStart(6, '0')}`;
  }

  private user(userId: string, userName: string | undefined, teamId: string): SlackUserRef {
    const name = userName ?? userId.toLowerCase();
    return { id: userId, username: name, name, team_id: teamId };
  }

  /** A button click (`block_actions`) on a message, form-encoded as `payload=<json>`. */
  blockAction(o: BlockActionOptions): SlackRequest<BlockActionsPayload> {
    const teamId = o.teamId ?? this.teamId;
    const blocks = o.message?.blocks ?? [];
    const button = findButtons(blocks).find((b) => b.actionId === o.actionId);
    const value = o.value ?? button?.value;
    const style = button?.style;
    const action: ButtonActionPayload = {
      type: 'button',
      action_id: o.actionId,
      block_id: o.blockId ?? button?.blockId ?? 'actions',
      ...(value !== undefined ? { value } : {}),
      ...(style !== undefined ? { style } : {}),
      text: plainText(o.buttonText ?? button?.text ?? o.actionId),
      action_ts: o.actionTs ?? this.nowTs(),
    };
    const payload: BlockActionsPayload = {
      type: 'block_actions',
      user: this.user(o.userId, o.userName, teamId),
      api_app_id: this.apiAppId,
      token: this.verificationToken,
      container: {
        type: 'message',
        message_ts: o.messageTs,
        channel_id: o.channelId,
        is_ephemeral: o.isEphemeral ?? false,
      },
      trigger_id: o.triggerId ?? this.newTriggerId(),
      team: { id: teamId, domain: this.teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: o.channelId, name: o.channelName ?? 'approvals' },
      message: {
        type: 'message',
        ts: o.messageTs,
        text: o.message?.text ?? '',
        user: o.message?.user ?? FAKE_SLACK_DEFAULTS.botUserId,
        bot_id: o.message?.botId ?? FAKE_SLACK_DEFAULTS.botId,
        app_id: this.apiAppId,
        team: teamId,
        blocks,
        ...(o.message?.metadata ? { metadata: o.message.metadata } : {}),
      },
      state: { values: {} },
      response_url: o.responseUrl ?? this.responseUrls(),
      actions: [action],
    };
    return this.formPayload(payload);
  }

  /** A modal submission (`view_submission`), form-encoded as `payload=<json>`. */
  viewSubmission(o: ViewSubmissionOptions): SlackRequest<ViewSubmissionPayload> {
    const teamId = o.teamId ?? this.teamId;
    const viewId = o.viewId ?? `V0${randomBytes(5).toString('hex').toUpperCase()}`;
    const values: Record<string, Record<string, ViewStateValue>> = {};
    for (const [blockId, actions] of Object.entries(o.values ?? {})) {
      const block: Record<string, ViewStateValue> = {};
      for (const [actionId, entry] of Object.entries(actions)) {
        block[actionId] =
          entry === null || typeof entry === 'string' ? { type: 'plain_text_input', value: entry } : entry;
      }
      values[blockId] = block;
    }
    const payload: ViewSubmissionPayload = {
      type: 'view_submission',
      team: { id: teamId, domain: this.teamDomain },
      user: this.user(o.userId, o.userName, teamId),
      api_app_id: this.apiAppId,
      token: this.verificationToken,
      trigger_id: o.triggerId ?? this.newTriggerId(),
      view: {
        id: viewId,
        team_id: teamId,
        type: 'modal',
        blocks: o.blocks ?? [],
        private_metadata: o.privateMetadata ?? '',
        callback_id: o.callbackId,
        state: { values },
        hash: `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString('hex')}`,
        title: plainText(o.title ?? 'Countersign'),
        clear_on_close: false,
        notify_on_close: false,
        close: null,
        submit: plainText('Submit'),
        previous_view_id: null,
        root_view_id: viewId,
        app_id: this.apiAppId,
        external_id: '',
        app_installed_team_id: teamId,
        bot_id: FAKE_SLACK_DEFAULTS.botId,
      },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    return this.formPayload(payload);
  }

  /** A slash command: form fields as Slack sends them. */
  slashCommand(o: SlashCommandOptions): SlackRequest<SlashCommandPayload> {
    const payload: SlashCommandPayload = {
      token: this.verificationToken,
      team_id: o.teamId ?? this.teamId,
      team_domain: o.teamDomain ?? this.teamDomain,
      channel_id: o.channelId,
      channel_name: o.channelName ?? 'approvals',
      user_id: o.userId,
      user_name: o.userName ?? o.userId.toLowerCase(),
      command: o.command,
      text: o.text ?? '',
      api_app_id: this.apiAppId,
      is_enterprise_install: 'false',
      response_url: o.responseUrl ?? this.responseUrls(),
      trigger_id: o.triggerId ?? this.newTriggerId(),
    };
    return { body: new URLSearchParams({ ...payload }).toString(), contentType: FORM, payload };
  }

  /** The Events API URL check Slack sends when the request URL is configured. */
  urlVerification(challenge: string): SlackRequest<UrlVerificationPayload> {
    const payload: UrlVerificationPayload = {
      token: this.verificationToken,
      challenge,
      type: 'url_verification',
    };
    return { body: JSON.stringify(payload), contentType: JSON_TYPE, payload };
  }

  /** An Events API delivery (`event_callback`) wrapping `event`. */
  eventCallback(o: EventCallbackOptions): SlackRequest<EventCallbackPayload> {
    const teamId = o.teamId ?? this.teamId;
    const payload: EventCallbackPayload = {
      token: this.verificationToken,
      team_id: teamId,
      api_app_id: this.apiAppId,
      event: o.event,
      type: 'event_callback',
      event_id: o.eventId ?? `Ev0${randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: o.eventTime ?? Math.floor(this.now() / 1000),
      authorizations: [
        { enterprise_id: null, team_id: teamId, user_id: FAKE_SLACK_DEFAULTS.botUserId, is_bot: true },
      ],
      is_ext_shared_channel: false,
      event_context: `4-${randomBytes(16).toString('base64url')}`,
    };
    return { body: JSON.stringify(payload), contentType: JSON_TYPE, payload };
  }

  /** Signs and POSTs a built request (or a raw body with its content type) to the endpoint. */
  send<T = unknown>(request: SlackRequest, options?: SlackSendOptions): Promise<SlackResponse<T>>;
  send<T = unknown>(body: string, contentType: string, options?: SlackSendOptions): Promise<SlackResponse<T>>;
  async send<T = unknown>(
    requestOrBody: SlackRequest | string,
    contentTypeOrOptions?: string | SlackSendOptions,
    maybeOptions?: SlackSendOptions,
  ): Promise<SlackResponse<T>> {
    const rawBody = typeof requestOrBody === 'string' ? requestOrBody : requestOrBody.body;
    const contentType =
      typeof requestOrBody === 'string'
        ? typeof contentTypeOrOptions === 'string'
          ? contentTypeOrOptions
          : FORM
        : requestOrBody.contentType;
    const options = (typeof contentTypeOrOptions === 'object' ? contentTypeOrOptions : maybeOptions) ?? {};

    const timestamp = (options.timestamp ?? Math.floor(this.now() / 1000)) + (options.skewSeconds ?? 0);
    let signature =
      options.signature ?? slackSignature(options.secret ?? this.signingSecret, timestamp, rawBody);
    if (options.corruptSignature) {
      const last = signature.at(-1) === '0' ? '1' : '0';
      signature = `${signature.slice(0, -1)}${last}`;
    }
    const headers: Record<string, string> = {
      'content-type': contentType,
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      accept: '*/*',
    };
    if (!options.omitTimestamp) headers['x-slack-request-timestamp'] = String(timestamp);
    if (!options.omitSignature) headers['x-slack-signature'] = signature;
    if (options.retryNum !== undefined) headers['x-slack-retry-num'] = String(options.retryNum);
    if (options.retryReason !== undefined) headers['x-slack-retry-reason'] = options.retryReason;
    Object.assign(headers, options.headers);

    const response = await fetch(this.endpoint, {
      method: 'POST',
      headers,
      body: rawBody,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    let body: unknown = text;
    if (type.includes('json') && text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return {
      status: response.status,
      body: body as T,
      text,
      headers: response.headers,
      sent: { rawBody, headers, timestamp },
    };
  }

  private formPayload<P>(payload: P): SlackRequest<P> {
    return {
      body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
      contentType: FORM,
      payload,
    };
  }
}

export function createSlackDriver(options: SlackDriverOptions): SlackDriver {
  return new SlackDriver(options);
}
