// The Slack settings' combinations: HTTP needs the signing secret, Socket Mode the app token
// (xapp-…) and no secret; each mistake is named.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('Slack configuration', () => {
  it('takes a bot token with an app token (Socket Mode) and no signing secret', () => {
    const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1-A1-2-abc' });
    expect(config.SLACK_APP_TOKEN).toBe('xapp-1-A1-2-abc');
    expect(config.SLACK_SIGNING_SECRET).toBeUndefined();
  });

  it('refuses an app token that is not an app-level token, saying where to find one', () => {
    expect(problems({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xoxb-2' })).toEqual([
      'SLACK_APP_TOKEN: must be an app-level token starting with xapp- (Basic Information → App-Level Tokens)',
    ]);
  });

  it('refuses an app token without a bot token', () => {
    expect(problems({ SLACK_APP_TOKEN: 'xapp-1' })).toEqual([
      'SLACK_BOT_TOKEN: SLACK_APP_TOKEN (Socket Mode) needs SLACK_BOT_TOKEN too (xoxb-…, to post cards)',
    ]);
  });

  it('still wants the signing secret with a bot token over HTTP', () => {
    expect(problems({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
      'SLACK_SIGNING_SECRET: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET must be set together (or SLACK_BOT_TOKEN with SLACK_APP_TOKEN for Socket Mode)',
    ]);
  });
});
