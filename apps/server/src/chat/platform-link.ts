// Whether a chat platform still takes this server's calls. An app uninstalled or a token revoked
// (told by the platform's event, or learned from an auth error on a call) stops every card of that
// platform in this process until it restarts with new credentials; `/readyz` shows the state.
import type { Clock } from '../deps.ts';
import type { Logger } from '../observability/logger.ts';
import type { ChatPlatform } from '../approvals/channels.ts';

/** How the platform reaches us: HTTP requests to our URL, or a socket we opened (Slack Socket Mode). */
export type PlatformLinkMode = 'http' | 'socket';

/** What `/readyz` shows per platform. */
export interface PlatformLinkStatus {
  mode: PlatformLinkMode;
  /** HTTP mode: true until revoked; Socket Mode: the socket is open (Slack said hello) and not revoked. */
  connected: boolean;
  revoked?: { reason: string; at: string };
}

export interface PlatformLink {
  platform: ChatPlatform;
  /** The platform no longer takes our credentials: logged at warn once, cards stop. */
  revoke(reason: string): void;
  revoked(): { reason: string; at: Date } | undefined;
  /** Socket Mode: the socket opened (hello) or closed. */
  setConnected(connected: boolean): void;
  status(): PlatformLinkStatus;
}

export function createPlatformLink(
  platform: ChatPlatform,
  mode: PlatformLinkMode,
  deps: { clock: Clock; log: Logger },
): PlatformLink {
  let revocation: { reason: string; at: Date } | undefined;
  // An HTTP receiver has nothing to open; a socket is down until the platform greets it.
  let connected = mode === 'http';
  return {
    platform,
    revoke(reason) {
      if (revocation) return;
      revocation = { reason, at: deps.clock.now() };
      deps.log.warn(
        { platform, reason },
        'chat platform revoked this app: no more cards are posted or updated until the server restarts with new credentials',
      );
    },
    revoked: () => revocation,
    setConnected(value) {
      connected = value;
    },
    status: () => ({
      mode,
      connected: connected && !revocation,
      ...(revocation ? { revoked: { reason: revocation.reason, at: revocation.at.toISOString() } } : {}),
    }),
  };
}
