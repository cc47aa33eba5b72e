// One chat platform as the server wires it: its HTTP router, its card transport, the flush
// settings that apply to it, and its link state (connected, revoked). main.ts builds the list once
// from the configuration; adding a platform adds one entry.
import type { Router } from 'express';
import type { Config } from '../config.ts';
import { CHAT_PLATFORMS, type ChatPlatform } from '../approvals/channels.ts';
import type { ChatTransport, FlushSettings } from './flush-channel.ts';
import type { PlatformLink } from './platform-link.ts';
import type { ChatNotifier } from './follow-up/chat-notifier.ts';

export interface ChatIntegration {
  platform: ChatPlatform;
  router: Router;
  transport: ChatTransport;
  flush: FlushSettings;
  link: PlatformLink;
  /** Thread replies and direct messages for reminders and the requester's notice. */
  notifier?: ChatNotifier;
  /** Opens what the platform needs opened from our side (Slack Socket Mode); returns at once. */
  start?(): void;
  /** Closes it again, on shutdown. */
  stop?(): Promise<void>;
}

/** Each platform's flush settings: its own override where given, else the platform-neutral one. */
export function flushSettingsFor(config: Config, platform: ChatPlatform): FlushSettings {
  const own =
    platform === 'slack'
      ? { postIntervalMs: config.SLACK_POST_INTERVAL_MS, budgetMs: config.SLACK_FLUSH_BUDGET_MS }
      : { postIntervalMs: config.TEAMS_POST_INTERVAL_MS, budgetMs: config.TEAMS_FLUSH_BUDGET_MS };
  return {
    postIntervalMs: own.postIntervalMs ?? config.COUNTERSIGN_CHAT_POST_INTERVAL_MS,
    budgetMs: own.budgetMs ?? config.COUNTERSIGN_CHAT_FLUSH_BUDGET_MS,
  };
}

/**
 * How long a flush job may run before pg-boss hands it to another worker: it stops taking new
 * cards at its budget; the call in flight and the post slot may follow, then a minute's margin.
 */
export function chatFlushExpireSeconds(config: Config, platforms: readonly ChatPlatform[]): number {
  const longest = Math.max(
    ...(platforms.length > 0 ? platforms : CHAT_PLATFORMS).map((platform) => {
      const flush = flushSettingsFor(config, platform);
      return flush.budgetMs + flush.postIntervalMs;
    }),
  );
  return Math.ceil(longest / 1000) + 60;
}
