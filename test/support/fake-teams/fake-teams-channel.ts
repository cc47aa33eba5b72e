// A local Bot Framework channel playing Microsoft Teams' wire protocol, for tests:
// - the channel's OpenID metadata and JWKS (RS256; keys endorsed for msteams, one without
//   endorsements, one endorsed for another channel) and `mintChannelToken` with a knob for every
//   way an inbound token can be wrong;
// - the connector API the bot calls (activities, members, teams), which accepts only bearer tokens
//   the fake token service issued, keeps each conversation's messages and their updates, serves
//   a configurable roster, and injects failures (429 + Retry-After, 412, 502, 504, 403 after removal);
// - an upload URL for the file consent flow that records the bytes PUT to it.
// It never imports botbuilder: it speaks HTTP and JSON like the real service.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { FakeTokenService } from './fake-token-service.ts';

export const DEFAULT_CHANNEL_ISSUER = 'https://api.botframework.com';

/** Which key signs a minted token. */
export type TokenKey =
  /** In the JWKS, endorsed for msteams: the good case. */
  | 'endorsed'
  /** In the JWKS without endorsements. */
  | 'unendorsed'
  /** In the JWKS, endorsed only for webchat. */
  | 'other-channel'
  /** A kid the JWKS does not have. */
  | 'unknown-kid'
  /** The endorsed key's kid, signed by a different private key (bad signature). */
  | 'forged';

export interface ChannelTokenKnobs {
  key?: TokenKey;
  audience?: string;
  issuer?: string;
  /** The `serviceurl` claim; null leaves it out. Default: the channel's service URL. */
  serviceUrl?: string | null;
  /** Seconds from now; negative is already expired. Default 3600. */
  expiresInSeconds?: number;
  /** Seconds from now for `nbf`; positive is not yet valid. Default -60. */
  notBeforeSeconds?: number;
}

export interface FakeTeamsMember {
  id: string;
  aadObjectId?: string;
  name?: string;
  email?: string;
  userPrincipalName?: string;
  tenantId?: string;
  givenName?: string;
  surname?: string;
}

/** A message in a conversation as it currently stands. */
export interface FakeTeamsMessage {
  id: string;
  /** The conversation id in the path it was posted to (suffix included, if any). */
  postedTo: string;
  conversationId: string;
  replyToId: string | undefined;
  activity: Record<string, unknown>;
  /** Every version: the post, then each update. */
  versions: Record<string, unknown>[];
  deleted: boolean;
}

export interface FakeConnectorCall {
  method: string;
  path: string;
  conversationId: string | undefined;
  /** Whether the bearer token was one the token service issued. */
  tokenIssued: boolean;
  status: number;
  at: Date;
}

export interface InjectedFailure {
  status: number;
  /** Retry-After header value in seconds. */
  retryAfter?: number;
  code?: string;
  /** Which calls it applies to (default: any connector call). */
  match?: (method: string, path: string) => boolean;
}

export interface FakeTeamsChannel {
  /** The `serviceUrl` of activities (ends with a slash, like Teams'). */
  serviceUrl: string;
  openIdMetadataUrl: string;
  issuer: string;
  appId: string;
  /** The bot's id in conversations ("28:<app id>"). */
  botId: string;
  mintChannelToken(knobs?: ChannelTokenKnobs): Promise<string>;
  addMember(scopeId: string, member: FakeTeamsMember): void;
  /** The bot is removed: connector calls about this conversation (or team) answer 403. */
  removeBot(scopeId: string): void;
  /** The next `count` matching connector calls fail with `failure`. */
  failNext(count: number, failure: InjectedFailure): void;
  messages(conversationId: string): FakeTeamsMessage[];
  message(activityId: string): FakeTeamsMessage | undefined;
  calls: FakeConnectorCall[];
  /** An upload URL for file consent; PUT bodies are recorded under `name`. */
  uploadUrl(name: string): string;
  uploads: Map<string, { bytes: Buffer; contentRange: string | undefined }>;
  close(): Promise<void>;
}

export interface FakeTeamsChannelOptions {
  appId: string;
  tokenService: Pick<FakeTokenService, 'isIssued'>;
  issuer?: string;
}

const stripSuffix = (id: string) => {
  const cut = id.toLowerCase().indexOf(';messageid=');
  return cut === -1 ? id : id.slice(0, cut);
};

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function namedKey(kid: string, endorsements?: string[]) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK & { endorsements?: string[] } = {
    ...(await exportJWK(publicKey)),
    kid,
    kty: 'RSA',
    use: 'sig',
    ...(endorsements ? { endorsements } : {}),
  };
  return { privateKey: privateKey, jwk };
}

export async function startFakeTeamsChannel(options: FakeTeamsChannelOptions): Promise<FakeTeamsChannel> {
  const issuer = options.issuer ?? DEFAULT_CHANNEL_ISSUER;
  const keys = {
    endorsed: await namedKey('channel-key-teams', ['msteams', 'webchat']),
    unendorsed: await namedKey('channel-key-plain'),
    'other-channel': await namedKey('channel-key-webchat', ['webchat']),
  };
  const stray = await namedKey('channel-key-stray', ['msteams']);
  const members = new Map<string, Map<string, FakeTeamsMember>>();
  const removed = new Set<string>();
  const failures: InjectedFailure[] = [];
  const messages: FakeTeamsMessage[] = [];
  const calls: FakeConnectorCall[] = [];
  const uploads = new Map<string, { bytes: Buffer; contentRange: string | undefined }>();
  let counter = 0;
  let base = '';

  const takeFailure = (method: string, path: string) => {
    const index = failures.findIndex((f) => !f.match || f.match(method, path));
    return index === -1 ? undefined : failures.splice(index, 1)[0];
  };

  async function connector(req: IncomingMessage, res: ServerResponse, path: string): Promise<number> {
    const method = req.method ?? 'GET';
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    const conversationId =
      segments[1] === 'conversations' || segments[1] === 'teams' ? segments[2] : undefined;
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    const tokenIssued = bearer !== '' && options.tokenService.isIssued(bearer);
    const record = (status: number) => {
      calls.push({ method, path, conversationId, tokenIssued, status, at: new Date() });
      return status;
    };
    if (!tokenIssued) {
      send(res, 401, { error: { code: 'Unauthorized', message: 'token not issued by the login service' } });
      return record(401);
    }
    const failure = takeFailure(method, path);
    if (failure) {
      send(
        res,
        failure.status,
        { error: { code: failure.code ?? `Injected${failure.status}`, message: 'injected failure' } },
        failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {},
      );
      return record(failure.status);
    }
    if (conversationId && removed.has(stripSuffix(conversationId))) {
      send(res, 403, {
        error: {
          code: 'BotNotInConversationRoster',
          message: 'The bot is not part of the conversation roster.',
        },
      });
      return record(403);
    }
    const body = method === 'POST' || method === 'PUT' ? await readBody(req) : Buffer.alloc(0);
    const activity = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    // v3/conversations/{id}/activities[/{activityId}]
    if (segments[1] === 'conversations' && segments[3] === 'activities' && conversationId) {
      const activityId = segments[4];
      if (method === 'POST') {
        const id = `17000000000${String(++counter).padStart(2, '0')}`;
        const stored = { ...activity, id };
        messages.push({
          id,
          postedTo: conversationId,
          conversationId: stripSuffix(conversationId),
          replyToId: activityId,
          activity: stored,
          versions: [stored],
          deleted: false,
        });
        send(res, 201, { id });
        return record(201);
      }
      const existing = messages.find(
        (m) => m.id === activityId && m.conversationId === stripSuffix(conversationId),
      );
      if (!existing) {
        send(res, 404, { error: { code: 'ActivityNotFoundInConversation', message: 'no such activity' } });
        return record(404);
      }
      if (method === 'PUT') {
        existing.activity = { ...activity, id: existing.id };
        existing.versions.push(existing.activity);
        send(res, 200, { id: existing.id });
        return record(200);
      }
      if (method === 'DELETE') {
        existing.deleted = true;
        send(res, 200, {});
        return record(200);
      }
    }
    // v3/conversations/{id}/members/{memberId} — in a team the bot asks with the team id.
    if (segments[1] === 'conversations' && segments[3] === 'members' && conversationId && segments[4]) {
      const member = members.get(stripSuffix(conversationId))?.get(segments[4]);
      if (!member) {
        send(res, 404, { error: { code: 'MemberNotFoundInConversation', message: 'Member not found' } });
        return record(404);
      }
      send(res, 200, { ...member, objectId: member.aadObjectId, userRole: 'user' });
      return record(200);
    }
    if (segments[1] === 'teams' && conversationId && segments.length === 3) {
      send(res, 200, { id: conversationId, name: 'Fake team', aadGroupId: randomUUID() });
      return record(200);
    }
    send(res, 404, { error: { code: 'NotFound', message: `no route ${method} ${path}` } });
    return record(404);
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', base).pathname.replace(/\/{2,}/g, '/');
      if (req.method === 'GET' && path === '/v1/.well-known/openidconfiguration') {
        send(res, 200, {
          issuer,
          authorization_endpoint: `${base}/v1/authorize`,
          jwks_uri: `${base}/v1/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
        });
      } else if (req.method === 'GET' && path === '/v1/keys') {
        send(res, 200, { keys: Object.values(keys).map((k) => k.jwk) });
      } else if (req.method === 'PUT' && path.startsWith('/upload/')) {
        const name = decodeURIComponent(path.slice('/upload/'.length));
        uploads.set(name, { bytes: await readBody(req), contentRange: req.headers['content-range'] });
        send(res, 201, { id: name });
      } else if (path.startsWith('/v3/')) {
        await connector(req, res, path);
      } else {
        send(res, 404, { error: { code: 'NotFound' } });
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { code: 'FakeFailed', message: String(error) } });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const serviceUrl = `${base}/`;

  return {
    serviceUrl,
    openIdMetadataUrl: `${base}/v1/.well-known/openidconfiguration`,
    issuer,
    appId: options.appId,
    botId: `28:${options.appId}`,
    async mintChannelToken(knobs = {}) {
      const choice = knobs.key ?? 'endorsed';
      const signer =
        choice === 'forged'
          ? { privateKey: stray.privateKey, kid: keys.endorsed.jwk.kid }
          : choice === 'unknown-kid'
            ? { privateKey: stray.privateKey, kid: stray.jwk.kid }
            : { privateKey: keys[choice].privateKey, kid: keys[choice].jwk.kid };
      const now = Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {};
      const claimedServiceUrl = knobs.serviceUrl === undefined ? serviceUrl : knobs.serviceUrl;
      if (claimedServiceUrl !== null) claims['serviceurl'] = claimedServiceUrl;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: signer.kid ?? '', typ: 'JWT' })
        .setIssuer(knobs.issuer ?? issuer)
        .setAudience(knobs.audience ?? options.appId)
        .setIssuedAt(now - 60)
        .setNotBefore(now + (knobs.notBeforeSeconds ?? -60))
        .setExpirationTime(now + (knobs.expiresInSeconds ?? 3600))
        .sign(signer.privateKey);
    },
    addMember(scopeId, member) {
      const scope = members.get(stripSuffix(scopeId)) ?? new Map<string, FakeTeamsMember>();
      scope.set(member.id, member);
      members.set(stripSuffix(scopeId), scope);
    },
    removeBot(scopeId) {
      removed.add(stripSuffix(scopeId));
    },
    failNext(count, failure) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    messages: (conversationId) => messages.filter((m) => m.conversationId === stripSuffix(conversationId)),
    message: (activityId) => messages.find((m) => m.id === activityId),
    calls,
    uploadUrl: (name) => `${base}/upload/${encodeURIComponent(name)}`,
    uploads,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
