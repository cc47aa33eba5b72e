// A local fake of Slack's Web API (the wire format @slack/web-api 8 speaks) with stored messages, a user directory, fault injection and a call log.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { pollUntil, type PollOptions } from './poll.ts';

/** Identity of the fake workspace and its bot; the driver uses the same defaults. */
export const FAKE_SLACK_DEFAULTS = {
  botToken: 'xoxb-fake-countersign-token',
  /** The app-level token (Socket Mode): the only token apps.connections.open accepts. */
  appToken: 'xapp-1-A0CSAPP001-fake-countersign-app-token',
  teamId: 'T0CSTEST01',
  teamName: 'Countersign Test',
  teamDomain: 'countersign-test',
  botUserId: 'U0CSBOT001',
  botName: 'countersign',
  botId: 'B0CSBOT001',
  appId: 'A0CSAPP001',
  scopes: ['chat:write', 'users:read', 'users:read.email', 'commands', 'files:write', 'im:write'],
} as const;

/** Methods that answer `missing_scope` (with `needed`) unless the token has the scope. */
const REQUIRED_SCOPES: Record<string, string> = {
  'conversations.open': 'im:write',
  'users.lookupByEmail': 'users:read.email',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
};

/** A Block Kit block as stored: only `type` (and `block_id`) are looked at, the rest is kept as sent. */
export interface SlackBlock {
  type: string;
  block_id?: string | undefined;
  [key: string]: unknown;
}

/** Message metadata (`metadata` of chat.postMessage / chat.update). */
export interface SlackMessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface FakeSlackFileRef {
  id: string;
  name: string;
  title: string;
}

/** A message as it currently stands (after any chat.update). */
export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text: string | undefined;
  blocks: SlackBlock[] | undefined;
  metadata: SlackMessageMetadata | undefined;
  attachments: Record<string, unknown>[] | undefined;
  threadTs: string | undefined;
  files: FakeSlackFileRef[] | undefined;
  /** The bot user that posted it. */
  user: string;
  botId: string;
  postedAt: Date;
  updatedAt: Date | undefined;
  /** How many chat.update calls changed it. */
  updateCount: number;
}

/** One successful chat.update, with the fields it sent (undefined = not sent, kept from before). */
export interface FakeSlackUpdate {
  channel: string;
  ts: string;
  text: string | undefined;
  blocks: SlackBlock[] | undefined;
  metadata: SlackMessageMetadata | undefined;
  at: Date;
}

export interface FakeSlackEphemeral {
  channel: string;
  user: string;
  text: string | undefined;
  blocks: SlackBlock[] | undefined;
  threadTs: string | undefined;
  messageTs: string;
  at: Date;
}

/** The view as sent to views.open (parsed), plus what the fake answered. */
export interface SlackView {
  type: string;
  callback_id?: string | undefined;
  private_metadata?: string | undefined;
  blocks?: SlackBlock[] | undefined;
  [key: string]: unknown;
}

export interface FakeSlackViewOpen {
  id: string;
  triggerId: string;
  view: SlackView;
  at: Date;
}

export interface FakeSlackFile {
  id: string;
  filename: string;
  /** `length` announced to files.getUploadURLExternal. */
  length: number;
  altText: string | undefined;
  snippetType: string | undefined;
  uploadUrl: string;
  /** The bytes PUT/POSTed to the upload URL, once they arrived. */
  bytes: Buffer | undefined;
  completed: boolean;
  title: string | undefined;
  channelId: string | undefined;
  initialComment: string | undefined;
  threadTs: string | undefined;
}

/** A POST to a response_url minted by `newResponseUrl()`. */
export interface FakeSlackResponsePost {
  url: string;
  body: unknown;
  at: Date;
}

/** One Web API call as it arrived, and how it was answered. */
export interface FakeSlackCall {
  /** 0-based arrival order across all methods. */
  seq: number;
  method: string;
  at: Date;
  /** Bearer token, or the `token` argument when no Authorization header was sent. */
  token: string | undefined;
  contentType: string;
  /** Decoded arguments as sent (form values are strings; JSON-encoded fields are not decoded here). */
  args: Record<string, unknown>;
  /** HTTP status answered (0 when the client went away before the answer). */
  status: number;
  ok: boolean;
  error: string | undefined;
  /** The injected fault that answered this call, if any. */
  fault: FakeSlackFault | undefined;
}

/**
 * An injected answer for a coming call: HTTP 429 with Retry-After, a 5xx, an `ok:false` error with
 * HTTP 200, or a delay before the normal answer.
 */
export type FakeSlackFault =
  | { status: 429; retryAfterSeconds?: number }
  | { status: 500 | 502 | 503 }
  | { error: string }
  | { delayMs: number };

export interface FakeSlackUserSpec {
  name?: string;
  realName?: string;
  displayName?: string;
  /** Left out → the profile has no `email` (as when the app lacks users:read.email or the user has none). */
  email?: string;
  isBot?: boolean;
  deleted?: boolean;
  teamId?: string;
}

export interface StartFakeSlackOptions {
  /** The bot token every call must carry (FAKE_SLACK_DEFAULTS.botToken unless given). */
  botToken?: string;
  /** The app-level token apps.connections.open takes (FAKE_SLACK_DEFAULTS.appToken unless given). */
  appToken?: string;
  /** User id → profile, served by users.info. */
  users?: Record<string, FakeSlackUserSpec>;
  /** When given, chat.* and conversations.history refuse other channels with `channel_not_found`. */
  channels?: string[];
  /** Scopes reported in `x-oauth-scopes`; without `users:read.email` users.info leaves emails out. */
  scopes?: string[];
  teamId?: string;
  teamName?: string;
  teamDomain?: string;
  botUserId?: string;
  botName?: string;
  botId?: string;
  appId?: string;
  /** Wall clock for `ts` values and record times (Date.now unless given). */
  now?: () => number;
}

export interface FakeSlack {
  /** Web API base, e.g. http://127.0.0.1:41234/api/ — pass as `slackApiUrl` / SLACK_API_URL. */
  url: string;
  /** http://127.0.0.1:41234 */
  origin: string;
  botToken: string;
  appToken: string;
  teamId: string;
  botUserId: string;
  botId: string;
  appId: string;
  /** Answers the next `count` calls of `method` ('*' = any method) with `fault`; queued after earlier faults. */
  failNext(method: string, fault: FakeSlackFault, count?: number): void;
  /**
   * Socket Mode: apps.connections.open answers `{ ok: true, url: issue() }` (a fresh ticket URL of
   * the fake socket server); without it, `not_allowed_token_type`.
   */
  setConnectionsOpen(issue: (() => string) | undefined): void;
  /** The app was uninstalled / its bot token revoked: every bot-token call answers `token_revoked`. */
  revokeBotToken(): void;
  /** Faults still waiting to be used, per method. */
  pendingFaults(): Record<string, number>;
  /** The call log (copies), optionally for one method, in arrival order. */
  calls(method?: string): FakeSlackCall[];
  /** Messages of a channel as they currently stand, in post order (thread replies included). */
  messages(channel: string): FakeSlackMessage[];
  /** One message by channel and ts. */
  message(channel: string, ts: string): FakeSlackMessage | undefined;
  /** Channels that have messages. */
  channelsWithMessages(): string[];
  /** Successful chat.update calls, optionally for one channel. */
  updates(channel?: string): FakeSlackUpdate[];
  ephemerals(): FakeSlackEphemeral[];
  views(): FakeSlackViewOpen[];
  files(): FakeSlackFile[];
  /** Mints a response_url on this fake (give it to the driver); POSTs to it are recorded. */
  newResponseUrl(): string;
  responses(): FakeSlackResponsePost[];
  waitForResponses(count: number, options?: PollOptions): Promise<FakeSlackResponsePost[]>;
  /** The direct-message channel conversations.open gave the bot with this user, if it was opened. */
  dmChannel(userId: string): string | undefined;
  setUser(id: string, spec: FakeSlackUserSpec): void;
  removeUser(id: string): void;
  waitForMessages(channel: string, count: number, options?: PollOptions): Promise<FakeSlackMessage[]>;
  waitForUpdates(channel: string, count: number, options?: PollOptions): Promise<FakeSlackUpdate[]>;
  waitForEphemerals(count: number, options?: PollOptions): Promise<FakeSlackEphemeral[]>;
  waitForViews(count: number, options?: PollOptions): Promise<FakeSlackViewOpen[]>;
  waitForCalls(method: string, count: number, options?: PollOptions): Promise<FakeSlackCall[]>;
  /** Forgets messages, calls, faults, ephemerals, views, files and responses; keeps users and config. */
  reset(): void;
  close(): Promise<void>;
}

/** A button found in a message's blocks (actions blocks and section accessories). */
export interface SlackButton {
  actionId: string;
  blockId: string | undefined;
  value: string | undefined;
  text: string;
  style: string | undefined;
  /** The button's confirm dialog, if it has one. */
  confirm: Record<string, unknown> | undefined;
  url: string | undefined;
}

const buttonSchema = z.looseObject({
  type: z.literal('button'),
  action_id: z.string(),
  value: z.string().optional(),
  style: z.string().optional(),
  url: z.string().optional(),
  text: z.looseObject({ text: z.string() }),
  confirm: z.record(z.string(), z.unknown()).optional(),
});

/** Buttons of a message (or of any blocks), in block order. */
export function findButtons(source: { blocks?: SlackBlock[] | undefined } | SlackBlock[]): SlackButton[] {
  const blocks = Array.isArray(source) ? source : (source.blocks ?? []);
  const found: SlackButton[] = [];
  for (const block of blocks) {
    const candidates: unknown[] = [];
    const elements = z.array(z.unknown()).safeParse(block['elements']);
    if (block.type === 'actions' && elements.success) candidates.push(...elements.data);
    if (block['accessory'] !== undefined) candidates.push(block['accessory']);
    for (const candidate of candidates) {
      const button = buttonSchema.safeParse(candidate);
      if (!button.success) continue;
      found.push({
        actionId: button.data.action_id,
        blockId: block.block_id,
        value: button.data.value,
        text: button.data.text.text,
        style: button.data.style,
        confirm: button.data.confirm,
        url: button.data.url,
      });
    }
  }
  return found;
}

// ---- argument schemas (form bodies carry strings; JSON-valued fields arrive JSON-encoded) ----

function parseJsonLoosely(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function jsonValued<T extends z.ZodType>(schema: T) {
  return z.preprocess(parseJsonLoosely, schema);
}

const flag = z.preprocess((value) => {
  if (value === true || value === 'true' || value === '1' || value === 1) return true;
  if (value === false || value === 'false' || value === '0' || value === 0 || value === '') return false;
  return value;
}, z.boolean());

const text = z.preprocess(
  (value) => (typeof value === 'number' || typeof value === 'boolean' ? String(value) : value),
  z.string(),
);

const blockSchema = z.looseObject({ type: z.string().min(1), block_id: z.string().optional() });
const blocksSchema = jsonValued(z.array(blockSchema));
const metadataSchema = jsonValued(
  z.object({ event_type: z.string().min(1), event_payload: z.record(z.string(), z.unknown()) }),
);
const attachmentsSchema = jsonValued(z.array(z.record(z.string(), z.unknown())));
const viewSchema = jsonValued(
  z.looseObject({
    type: z.string().min(1),
    callback_id: z.string().optional(),
    private_metadata: z.string().optional(),
    blocks: z.array(blockSchema).optional(),
  }),
);

const postMessageArgs = z.object({
  channel: z.string().min(1),
  text: text.optional(),
  blocks: blocksSchema.optional(),
  metadata: metadataSchema.optional(),
  attachments: attachmentsSchema.optional(),
  thread_ts: z.string().optional(),
});
const updateArgs = z.object({
  channel: z.string().min(1),
  ts: z.string().min(1),
  text: text.optional(),
  blocks: blocksSchema.optional(),
  metadata: metadataSchema.optional(),
  attachments: attachmentsSchema.optional(),
});
const ephemeralArgs = z.object({
  channel: z.string().min(1),
  user: z.string().min(1),
  text: text.optional(),
  blocks: blocksSchema.optional(),
  thread_ts: z.string().optional(),
});
const usersInfoArgs = z.object({ user: z.string().min(1) });
const lookupByEmailArgs = z.object({ email: z.string().min(1) });
const viewsOpenArgs = z.object({ trigger_id: z.string().min(1), view: viewSchema });
const historyArgs = z.object({
  channel: z.string().min(1),
  include_all_metadata: flag.optional(),
  oldest: z.string().optional(),
  latest: z.string().optional(),
  inclusive: flag.optional(),
  limit: z.coerce.number().int().positive().optional(),
});
const uploadUrlArgs = z.object({
  filename: z.string().min(1),
  length: z.coerce.number().int().nonnegative(),
  alt_txt: z.string().optional(),
  alt_text: z.string().optional(),
  snippet_type: z.string().optional(),
});
const conversationsOpenArgs = z.object({
  users: z.string().min(1).optional(),
  channel: z.string().min(1).optional(),
  return_im: flag.optional(),
});
const completeUploadArgs = z.object({
  files: jsonValued(z.array(z.object({ id: z.string().min(1), title: z.string().optional() })).min(1)),
  channel_id: z.string().optional(),
  channels: z.string().optional(),
  initial_comment: z.string().optional(),
  thread_ts: z.string().optional(),
});

/** Slack's error code for the first argument that did not validate. */
function argumentError(error: z.ZodError): string {
  const field = error.issues[0]?.path[0];
  if (field === 'blocks') return 'invalid_blocks';
  if (field === 'metadata') return 'invalid_metadata_format';
  if (field === 'attachments') return 'invalid_attachments';
  if (field === 'channel') return 'channel_not_found';
  if (field === 'user') return 'user_not_found';
  if (field === 'trigger_id') return 'invalid_trigger_id';
  return 'invalid_arguments';
}

type Reply = Record<string, unknown>;

const ok = (fields: Reply = {}): Reply => ({ ok: true, ...fields });
const fail = (error: string): Reply => ({ ok: false, error });

/** Compares two Slack ts strings ("<seconds>.<micro>") without float rounding. */
function compareTs(a: string, b: string): number {
  const [aSec = '0', aMicro = '0'] = a.split('.');
  const [bSec = '0', bMicro = '0'] = b.split('.');
  const bySec = Number(aSec) - Number(bSec);
  if (bySec !== 0) return bySec;
  return Number(aMicro.padEnd(6, '0')) - Number(bMicro.padEnd(6, '0'));
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

class InvalidJson extends Error {}

/** Decodes a Web API request's arguments: query string, then a form, JSON or multipart body. */
async function decodeArgs(req: IncomingMessage, raw: Buffer, url: URL): Promise<Record<string, unknown>> {
  const args: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const type = mediaType(req);
  if (raw.length === 0) return args;
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new InvalidJson();
    }
    const record = z.record(z.string(), z.unknown()).safeParse(parsed);
    if (!record.success) throw new InvalidJson();
    return { ...args, ...record.data };
  }
  if (type === 'multipart/form-data') {
    const form = await new Response(new Uint8Array(raw), {
      headers: { 'content-type': req.headers['content-type'] ?? '' },
    }).formData();
    for (const [key, value] of form) {
      args[key] = typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer());
    }
    return args;
  }
  return { ...args, ...Object.fromEntries(new URLSearchParams(raw.toString('utf8'))) };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export async function startFakeSlack(options: StartFakeSlackOptions = {}): Promise<FakeSlack> {
  const config = {
    botToken: options.botToken ?? FAKE_SLACK_DEFAULTS.botToken,
    appToken: options.appToken ?? FAKE_SLACK_DEFAULTS.appToken,
    teamId: options.teamId ?? FAKE_SLACK_DEFAULTS.teamId,
    teamName: options.teamName ?? FAKE_SLACK_DEFAULTS.teamName,
    teamDomain: options.teamDomain ?? FAKE_SLACK_DEFAULTS.teamDomain,
    botUserId: options.botUserId ?? FAKE_SLACK_DEFAULTS.botUserId,
    botName: options.botName ?? FAKE_SLACK_DEFAULTS.botName,
    botId: options.botId ?? FAKE_SLACK_DEFAULTS.botId,
    appId: options.appId ?? FAKE_SLACK_DEFAULTS.appId,
    scopes: options.scopes ?? [...FAKE_SLACK_DEFAULTS.scopes],
  };
  const now = options.now ?? Date.now;
  const knownChannels = options.channels ? new Set(options.channels) : undefined;
  const users = new Map<string, FakeSlackUserSpec>(Object.entries(options.users ?? {}));
  /** User id → the bot's DM channel with them (conversations.open). */
  const dmChannels = new Map<string, string>();

  const messagesByChannel = new Map<string, FakeSlackMessage[]>();
  let updates: FakeSlackUpdate[] = [];
  let ephemerals: FakeSlackEphemeral[] = [];
  let views: FakeSlackViewOpen[] = [];
  let files: FakeSlackFile[] = [];
  let responses: FakeSlackResponsePost[] = [];
  let callLog: FakeSlackCall[] = [];
  let faults = new Map<string, FakeSlackFault[]>();
  let seq = 0;
  let counter = 0;
  let issueSocketUrl: (() => string) | undefined;
  let botTokenRevoked = false;
  let lastSec = 0;
  let lastMicro = 0;
  const closing = new AbortController();

  /** Strictly increasing message ts: wall-clock seconds, then steps of 100 µs within a second. */
  function nextTs(): string {
    const sec = Math.floor(now() / 1000);
    if (sec > lastSec) {
      lastSec = sec;
      lastMicro = 100;
    } else {
      lastMicro += 100;
      if (lastMicro > 999_900) {
        lastSec += 1;
        lastMicro = 100;
      }
    }
    return `${lastSec}.${String(lastMicro).padStart(6, '0')}`;
  }

  function nextId(prefix: string): string {
    counter += 1;
    return `${prefix}0${counter.toString(36).toUpperCase().padStart(8, '0')}`;
  }

  let origin = '';

  function takeFault(method: string): FakeSlackFault | undefined {
    for (const key of [method, '*']) {
      const queue = faults.get(key);
      if (queue && queue.length > 0) {
        const fault = queue.shift();
        if (queue.length === 0) faults.delete(key);
        return fault;
      }
    }
    return undefined;
  }

  function channelKnown(channel: string): boolean {
    return (
      knownChannels === undefined || knownChannels.has(channel) || [...dmChannels.values()].includes(channel)
    );
  }

  function findMessage(channel: string, ts: string): FakeSlackMessage | undefined {
    return messagesByChannel.get(channel)?.find((m) => m.ts === ts);
  }

  function apiMessage(message: FakeSlackMessage, includeMetadata: boolean): Reply {
    return {
      type: 'message',
      user: message.user,
      bot_id: message.botId,
      app_id: config.appId,
      team: config.teamId,
      ts: message.ts,
      text: message.text ?? '',
      ...(message.blocks ? { blocks: message.blocks } : {}),
      ...(message.attachments ? { attachments: message.attachments } : {}),
      ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      ...(message.files ? { files: message.files, upload: true } : {}),
      ...(message.updatedAt
        ? { edited: { user: message.user, ts: `${Math.floor(message.updatedAt.getTime() / 1000)}.000000` } }
        : {}),
      ...(includeMetadata && message.metadata ? { metadata: message.metadata } : {}),
    };
  }

  function storeMessage(fields: {
    channel: string;
    text: string | undefined;
    blocks: SlackBlock[] | undefined;
    metadata: SlackMessageMetadata | undefined;
    attachments: Record<string, unknown>[] | undefined;
    threadTs: string | undefined;
    files: FakeSlackFileRef[] | undefined;
  }): FakeSlackMessage {
    const message: FakeSlackMessage = {
      ...fields,
      ts: nextTs(),
      user: config.botUserId,
      botId: config.botId,
      postedAt: new Date(now()),
      updatedAt: undefined,
      updateCount: 0,
    };
    const list = messagesByChannel.get(fields.channel) ?? [];
    list.push(message);
    messagesByChannel.set(fields.channel, list);
    return message;
  }

  function userObject(id: string, spec: FakeSlackUserSpec): Reply {
    const name = spec.name ?? id.toLowerCase();
    const realName = spec.realName ?? name;
    const displayName = spec.displayName ?? name;
    const showEmail = spec.email !== undefined && config.scopes.includes('users:read.email');
    return {
      id,
      team_id: spec.teamId ?? config.teamId,
      name,
      deleted: spec.deleted ?? false,
      real_name: realName,
      tz: 'Europe/Berlin',
      tz_label: 'Central European Time',
      tz_offset: 3600,
      is_admin: false,
      is_owner: false,
      is_bot: spec.isBot ?? false,
      is_app_user: false,
      updated: Math.floor(now() / 1000),
      profile: {
        real_name: realName,
        real_name_normalized: realName,
        display_name: displayName,
        display_name_normalized: displayName,
        ...(showEmail ? { email: spec.email } : {}),
        team: spec.teamId ?? config.teamId,
      },
    };
  }

  const methods: Record<string, (args: Record<string, unknown>) => Reply> = {
    'auth.test': () =>
      ok({
        url: `https://${config.teamDomain}.slack.com/`,
        team: config.teamName,
        user: config.botName,
        team_id: config.teamId,
        user_id: config.botUserId,
        bot_id: config.botId,
        is_enterprise_install: false,
      }),

    'chat.postMessage': (raw) => {
      const parsed = postMessageArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const a = parsed.data;
      if (!channelKnown(a.channel)) return fail('channel_not_found');
      if (!a.text && !a.blocks?.length && !a.attachments?.length) return fail('no_text');
      if (a.thread_ts !== undefined && !findMessage(a.channel, a.thread_ts)) return fail('thread_not_found');
      const message = storeMessage({
        channel: a.channel,
        text: a.text,
        blocks: a.blocks,
        metadata: a.metadata,
        attachments: a.attachments,
        threadTs: a.thread_ts,
        files: undefined,
      });
      return ok({
        channel: message.channel,
        ts: message.ts,
        message: apiMessage(message, true),
      });
    },

    'chat.update': (raw) => {
      const parsed = updateArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const a = parsed.data;
      if (!channelKnown(a.channel)) return fail('channel_not_found');
      const message = findMessage(a.channel, a.ts);
      if (!message) return fail('message_not_found');
      if (a.text === undefined && a.blocks === undefined && a.attachments === undefined)
        return fail('no_text');
      if (a.text !== undefined) message.text = a.text;
      if (a.blocks !== undefined) message.blocks = a.blocks;
      if (a.metadata !== undefined) message.metadata = a.metadata;
      if (a.attachments !== undefined) message.attachments = a.attachments;
      message.updatedAt = new Date(now());
      message.updateCount += 1;
      updates.push({
        channel: a.channel,
        ts: a.ts,
        text: a.text,
        blocks: a.blocks,
        metadata: a.metadata,
        at: new Date(now()),
      });
      return ok({
        channel: a.channel,
        ts: a.ts,
        text: message.text ?? '',
        message: apiMessage(message, true),
      });
    },

    'chat.postEphemeral': (raw) => {
      const parsed = ephemeralArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const a = parsed.data;
      if (!channelKnown(a.channel)) return fail('channel_not_found');
      if (!a.text && !a.blocks?.length) return fail('no_text');
      const messageTs = nextTs();
      ephemerals.push({
        channel: a.channel,
        user: a.user,
        text: a.text,
        blocks: a.blocks,
        threadTs: a.thread_ts,
        messageTs,
        at: new Date(now()),
      });
      return ok({ message_ts: messageTs });
    },

    'users.info': (raw) => {
      const parsed = usersInfoArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const spec = users.get(parsed.data.user);
      if (!spec) return fail('user_not_found');
      return ok({ user: userObject(parsed.data.user, spec) });
    },

    'users.lookupByEmail': (raw) => {
      const parsed = lookupByEmailArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const email = parsed.data.email.toLowerCase();
      for (const [id, spec] of users) {
        if (spec.email?.toLowerCase() === email && !spec.deleted) return ok({ user: userObject(id, spec) });
      }
      return fail('users_not_found');
    },

    'views.open': (raw) => {
      const parsed = viewsOpenArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const id = nextId('V');
      const view: SlackView = parsed.data.view;
      views.push({ id, triggerId: parsed.data.trigger_id, view, at: new Date(now()) });
      return ok({
        view: {
          ...view,
          id,
          team_id: config.teamId,
          app_id: config.appId,
          bot_id: config.botId,
          state: { values: {} },
          hash: `${Math.floor(now() / 1000)}.${randomBytes(4).toString('hex')}`,
          root_view_id: id,
          previous_view_id: null,
          external_id: '',
        },
      });
    },

    'conversations.history': (raw) => {
      const parsed = historyArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const a = parsed.data;
      if (!channelKnown(a.channel)) return fail('channel_not_found');
      const inclusive = a.inclusive ?? false;
      const inRange = (ts: string): boolean => {
        if (a.oldest !== undefined) {
          const c = compareTs(ts, a.oldest);
          if (c < 0 || (c === 0 && !inclusive)) return false;
        }
        if (a.latest !== undefined) {
          const c = compareTs(ts, a.latest);
          if (c > 0 || (c === 0 && !inclusive)) return false;
        }
        return true;
      };
      const all = (messagesByChannel.get(a.channel) ?? [])
        .filter((m) => m.threadTs === undefined || m.threadTs === m.ts)
        .filter((m) => inRange(m.ts))
        .sort((x, y) => compareTs(y.ts, x.ts));
      const limit = Math.min(a.limit ?? 100, 999);
      return ok({
        messages: all.slice(0, limit).map((m) => apiMessage(m, a.include_all_metadata ?? false)),
        has_more: all.length > limit,
        pin_count: 0,
        response_metadata: { next_cursor: '' },
      });
    },

    'conversations.open': (raw) => {
      const parsed = conversationsOpenArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const a = parsed.data;
      if (a.channel !== undefined) return fail('not_supported_by_fake');
      const ids = (a.users ?? '').split(',').filter(Boolean);
      if (ids.length === 0) return fail('users_list_not_supplied');
      const [userId] = ids;
      if (ids.length > 1 || userId === undefined) return fail('not_supported_by_fake');
      if (!users.has(userId)) return fail('user_not_found');
      const existing = dmChannels.get(userId);
      const id = existing ?? nextId('D');
      dmChannels.set(userId, id);
      return ok({
        ...(existing ? { already_open: true } : {}),
        channel: a.return_im ? { id, is_im: true, user: userId, created: Math.floor(now() / 1000) } : { id },
      });
    },

    'files.getUploadURLExternal': (raw) => {
      const parsed = uploadUrlArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const a = parsed.data;
      const id = nextId('F');
      const uploadUrl = `${origin}/upload/v1/${id}`;
      files.push({
        id,
        filename: a.filename,
        length: a.length,
        altText: a.alt_text ?? a.alt_txt,
        snippetType: a.snippet_type,
        uploadUrl,
        bytes: undefined,
        completed: false,
        title: undefined,
        channelId: undefined,
        initialComment: undefined,
        threadTs: undefined,
      });
      return ok({ upload_url: uploadUrl, file_id: id });
    },

    'files.completeUploadExternal': (raw) => {
      const parsed = completeUploadArgs.safeParse(raw);
      if (!parsed.success) return fail(argumentError(parsed.error));
      const a = parsed.data;
      const channelId = a.channel_id ?? a.channels?.split(',')[0];
      if (channelId !== undefined && !channelKnown(channelId)) return fail('channel_not_found');
      const targets: FakeSlackFile[] = [];
      for (const ref of a.files) {
        const file = files.find((f) => f.id === ref.id);
        if (!file || file.completed) return fail('file_not_found');
        if (file.bytes === undefined) return fail('file_upload_not_complete');
        targets.push(file);
      }
      a.files.forEach((ref, index) => {
        const file = targets[index];
        if (!file) return;
        file.completed = true;
        file.title = ref.title ?? file.filename;
        file.channelId = channelId;
        file.initialComment = a.initial_comment;
        file.threadTs = a.thread_ts;
      });
      if (channelId !== undefined) {
        storeMessage({
          channel: channelId,
          text: a.initial_comment ?? '',
          blocks: undefined,
          metadata: undefined,
          attachments: undefined,
          threadTs: a.thread_ts,
          files: targets.map((f) => ({ id: f.id, name: f.filename, title: f.title ?? f.filename })),
        });
      }
      return ok({
        files: targets.map((f) => ({
          id: f.id,
          name: f.filename,
          title: f.title ?? f.filename,
          size: f.bytes?.length ?? 0,
          user: config.botUserId,
          created: Math.floor(now() / 1000),
          is_external: false,
          ...(channelId !== undefined ? { channels: [channelId] } : {}),
        })),
      });
    },
  };

  async function handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    method: string,
  ): Promise<void> {
    const raw = await readBody(req);
    const auth = req.headers.authorization;
    const call: FakeSlackCall = {
      seq: seq++,
      method,
      at: new Date(now()),
      token: undefined,
      contentType: req.headers['content-type'] ?? '',
      args: {},
      status: 0,
      ok: false,
      error: undefined,
      fault: undefined,
    };
    callLog.push(call);
    const answer = (status: number, body: Reply, headers: Record<string, string> = {}): void => {
      call.status = res.destroyed ? 0 : status;
      call.ok = body['ok'] === true;
      const error = body['error'];
      call.error = typeof error === 'string' ? error : undefined;
      sendJson(res, status, body, { 'x-oauth-scopes': config.scopes.join(','), ...headers });
    };

    let args: Record<string, unknown>;
    try {
      args = await decodeArgs(req, raw, url);
    } catch (error) {
      if (error instanceof InvalidJson) return answer(200, fail('invalid_json'));
      throw error;
    }
    call.args = args;
    const bodyToken = typeof args['token'] === 'string' ? args['token'] : undefined;
    call.token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : bodyToken;

    const fault = takeFault(method);
    call.fault = fault;
    if (fault !== undefined) {
      if ('delayMs' in fault) {
        try {
          await sleep(fault.delayMs, undefined, { signal: closing.signal });
        } catch {
          return; // the fake is closing
        }
      } else if ('error' in fault) {
        return answer(200, fail(fault.error));
      } else if (fault.status === 429) {
        const retryAfter = String(fault.retryAfterSeconds ?? 1);
        return answer(429, fail('ratelimited'), { 'retry-after': retryAfter });
      } else {
        return answer(fault.status, fail(fault.status === 503 ? 'service_unavailable' : 'internal_error'));
      }
    }

    if (call.token === undefined || call.token === '') return answer(200, fail('not_authed'));
    // An app-level token is good for apps.connections.open only, and only an app-level token is.
    if (method === 'apps.connections.open') {
      if (call.token === config.botToken) return answer(200, fail('not_allowed_token_type'));
      if (call.token !== config.appToken) return answer(200, fail('invalid_auth'));
      if (!issueSocketUrl) return answer(200, fail('not_allowed_token_type'));
      return answer(200, ok({ url: issueSocketUrl() }));
    }
    if (call.token === config.appToken) return answer(200, fail('not_allowed_token_type'));
    if (call.token !== config.botToken) return answer(200, fail('invalid_auth'));
    if (botTokenRevoked) return answer(200, fail('token_revoked'));
    const handler = methods[method];
    if (!handler) return answer(200, fail('unknown_method'));
    const needed = REQUIRED_SCOPES[method];
    if (needed !== undefined && !config.scopes.includes(needed)) {
      return answer(200, { ...fail('missing_scope'), needed, provided: config.scopes.join(',') });
    }
    return answer(200, handler(args));
  }

  async function handleUpload(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const raw = await readBody(req);
    const file = files.find((f) => f.id === id);
    if (!file || file.completed) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('upload url not found');
      return;
    }
    let bytes = raw;
    if (mediaType(req) === 'multipart/form-data') {
      const form = await new Response(new Uint8Array(raw), {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
      const part = [...form.values()].find((value) => typeof value !== 'string');
      const text = [...form.values()].find((value) => typeof value === 'string');
      if (part !== undefined && typeof part !== 'string') bytes = Buffer.from(await part.arrayBuffer());
      else if (typeof text === 'string') bytes = Buffer.from(text, 'utf8');
    }
    file.bytes = bytes;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
  }

  async function handleResponseUrl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const raw = (await readBody(req)).toString('utf8');
    responses.push({ url: url.href, body: parseJsonLoosely(raw), at: new Date(now()) });
    sendJson(res, 200, { ok: true });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin || 'http://127.0.0.1');
    const api = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    const upload = /^\/upload\/v1\/([A-Z0-9]+)$/.exec(url.pathname);
    const verb = req.method ?? 'GET';
    let work: Promise<void>;
    if (api?.[1] && (verb === 'POST' || verb === 'GET')) work = handleApi(req, res, url, api[1]);
    else if (upload?.[1] && (verb === 'POST' || verb === 'PUT')) work = handleUpload(req, res, upload[1]);
    else if (url.pathname.startsWith('/response/') && verb === 'POST')
      work = handleResponseUrl(req, res, url);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    work.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      sendJson(res, 500, { ok: false, error: 'fake_slack_internal_error', detail: message });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  const allMessages = (channel: string): FakeSlackMessage[] => clone(messagesByChannel.get(channel) ?? []);

  return {
    url: `${origin}/api/`,
    origin,
    botToken: config.botToken,
    appToken: config.appToken,
    teamId: config.teamId,
    botUserId: config.botUserId,
    botId: config.botId,
    appId: config.appId,
    setConnectionsOpen(issue) {
      issueSocketUrl = issue;
    },
    revokeBotToken() {
      botTokenRevoked = true;
    },
    failNext(method, fault, count = 1) {
      const queue = faults.get(method) ?? [];
      for (let i = 0; i < count; i++) queue.push(fault);
      faults.set(method, queue);
    },
    pendingFaults: () => Object.fromEntries([...faults].map(([method, queue]) => [method, queue.length])),
    calls: (method) => clone(method === undefined ? callLog : callLog.filter((c) => c.method === method)),
    messages: allMessages,
    message: (channel, ts) => {
      const found = findMessage(channel, ts);
      return found ? clone(found) : undefined;
    },
    channelsWithMessages: () => [...messagesByChannel.keys()],
    updates: (channel) =>
      clone(channel === undefined ? updates : updates.filter((u) => u.channel === channel)),
    ephemerals: () => clone(ephemerals),
    views: () => clone(views),
    files: () => files.map((f) => ({ ...f, bytes: f.bytes ? Buffer.from(f.bytes) : undefined })),
    newResponseUrl: () =>
      `${origin}/response/${config.teamId}/${nextId('R')}/${randomBytes(12).toString('hex')}`,
    responses: () => clone(responses),
    waitForResponses: (count, poll = {}) =>
      pollUntil(
        () => clone(responses),
        (list) => list.length >= count,
        { what: `${count} response_url post(s)`, ...poll },
      ),
    dmChannel: (userId) => dmChannels.get(userId),
    setUser(id, spec) {
      users.set(id, spec);
    },
    removeUser(id) {
      users.delete(id);
    },
    waitForMessages: (channel, count, poll = {}) =>
      pollUntil(
        () => allMessages(channel),
        (list) => list.length >= count,
        { what: `${count} message(s) in ${channel}`, ...poll },
      ),
    waitForUpdates: (channel, count, poll = {}) =>
      pollUntil(
        () => clone(updates.filter((u) => u.channel === channel)),
        (list) => list.length >= count,
        { what: `${count} chat.update(s) in ${channel}`, ...poll },
      ),
    waitForEphemerals: (count, poll = {}) =>
      pollUntil(
        () => clone(ephemerals),
        (list) => list.length >= count,
        { what: `${count} ephemeral message(s)`, ...poll },
      ),
    waitForViews: (count, poll = {}) =>
      pollUntil(
        () => clone(views),
        (list) => list.length >= count,
        { what: `${count} views.open call(s)`, ...poll },
      ),
    waitForCalls: (method, count, poll = {}) =>
      pollUntil(
        () => clone(callLog.filter((c) => c.method === method)),
        (list) => list.length >= count,
        { what: `${count} ${method} call(s)`, ...poll },
      ),
    reset() {
      messagesByChannel.clear();
      updates = [];
      ephemerals = [];
      views = [];
      files = [];
      responses = [];
      callLog = [];
      faults = new Map();
      botTokenRevoked = false;
    },
    async close() {
      closing.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
