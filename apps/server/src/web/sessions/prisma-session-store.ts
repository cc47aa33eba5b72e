// express-session's store over the web_sessions table, so every replica sees the same sessions.
// Rows are keyed by the SHA-256 of the session id (a leaked table holds no live cookie) and
// expire after the idle timeout, measured by the injected clock.
import { createHash } from 'node:crypto';
import session, { type SessionData } from 'express-session';
import type { PrismaClient } from '../../db/client.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import type { Clock } from '../../deps.ts';

const PRUNE_EVERY_MS = 10 * 60_000;

type Callback = (error?: unknown) => void;

export function hashSessionId(sid: string): string {
  return createHash('sha256').update(sid).digest('hex');
}

export class PrismaSessionStore extends session.Store {
  private lastPrune = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: Clock,
    private readonly idleSeconds: number,
  ) {
    super();
  }

  override get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void {
    this.prisma.webSession
      .findFirst({ where: { sidHash: hashSessionId(sid), expiresAt: { gt: this.clock.now() } } })
      .then((row) => callback(null, row ? (row.data as unknown as SessionData) : null), callback);
  }

  override set(sid: string, data: SessionData, callback?: Callback): void {
    const sidHash = hashSessionId(sid);
    const json = JSON.parse(JSON.stringify(data)) as Prisma.InputJsonValue;
    const expiresAt = this.expiry();
    this.prisma.webSession
      .upsert({
        where: { sidHash },
        create: { sidHash, data: json, expiresAt },
        update: { data: json, expiresAt },
      })
      .then(() => this.pruneNowAndThen())
      .then(
        () => callback?.(),
        (error: unknown) => callback?.(error),
      );
  }

  override touch(sid: string, _data: SessionData, callback?: () => void): void {
    this.prisma.webSession
      .updateMany({
        where: { sidHash: hashSessionId(sid), expiresAt: { gt: this.clock.now() } },
        data: { expiresAt: this.expiry() },
      })
      .then(
        () => callback?.(),
        () => callback?.(),
      );
  }

  override destroy(sid: string, callback?: Callback): void {
    this.prisma.webSession.deleteMany({ where: { sidHash: hashSessionId(sid) } }).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    );
  }

  private expiry(): Date {
    return new Date(this.clock.now().getTime() + this.idleSeconds * 1000);
  }

  /** Expired rows are dropped now and then by whichever replica writes a session. */
  private async pruneNowAndThen(): Promise<void> {
    const now = this.clock.now();
    if (now.getTime() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now.getTime();
    await this.prisma.webSession.deleteMany({ where: { expiresAt: { lte: now } } });
  }
}
