// Refuses Slack requests whose timestamp is more than five minutes away from now, in the past or
// the future (Bolt itself only refuses old ones), before Bolt reads them.
import type { RequestHandler } from 'express';
import type { Clock } from '../../deps.ts';

export const MAX_SKEW_SECONDS = 300;

export function slackTimestampGuard(clock: Clock): RequestHandler {
  return (req, res, next) => {
    const header = req.get('x-slack-request-timestamp');
    const timestamp = header && /^\d+$/.test(header) ? Number(header) : NaN;
    const now = Math.floor(clock.now().getTime() / 1000);
    if (!Number.isFinite(timestamp) || Math.abs(now - timestamp) > MAX_SKEW_SECONDS) {
      res.status(401).type('text/plain').send('stale or missing request timestamp');
      return;
    }
    next();
  };
}
