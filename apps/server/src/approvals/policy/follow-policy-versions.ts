// Keeps a replica's live policy on the version in force: every approved change NOTIFYs, and each
// replica's listener loads the new version and switches to it without a restart. On every
// (re)connection it looks again, since a notification sent while it was away is lost.
import type { Database } from '../../db/client.ts';
import { listenForNotifications, type NotificationListener } from '../../db/listen-for-notifications.ts';
import type { Logger } from '../../observability/logger.ts';
import { compileVersion } from './establish-policy.ts';
import { switchLivePolicy } from './live-policy.ts';
import type { Policy } from './policy.ts';
import { POLICY_CHANNEL, readActiveVersion } from './policy-store.ts';

export interface FollowPolicyOptions {
  url: string;
  db: Database;
  live: Policy;
  log: Logger;
}

export async function followPolicyVersions(options: FollowPolicyOptions): Promise<NotificationListener> {
  const { db, live, log } = options;
  let running: Promise<void> = Promise.resolve();
  const refresh = () => {
    running = running.then(async () => {
      try {
        const active = await readActiveVersion(db);
        if (!active || (live.version !== undefined && active.version <= live.version)) return;
        switchLivePolicy(live, compileVersion(active));
        log.info(
          { version: active.version, digest: active.digest, rules: live.rules.map((r) => r.name) },
          `policy version ${active.version} is now in force`,
        );
      } catch (error) {
        // The version in force stays; the next notification or reconnection tries again.
        log.error({ err: error }, 'could not load the new policy version; the previous one stays in force');
      }
    });
  };
  return listenForNotifications({
    url: options.url,
    channel: POLICY_CHANNEL,
    log,
    onNotification: refresh,
    onConnected: refresh,
  });
}
