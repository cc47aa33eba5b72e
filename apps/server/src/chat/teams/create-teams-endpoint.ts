// POST /api/messages: the Bot Framework channel's entry point. The token is verified here, before
// the bot runs, so that every bad token (missing, forged, unknown key, wrong audience or issuer,
// expired, not yet valid, serviceurl claim mismatch, key not endorsed for the channel) is one
// 401 problem+json. botbuilder's own CloudAdapter.process answers 500 for some of them.
// Errors go to the app's problem handler: BOT_AUTH_FAILED → 401, anything from the bot → 500.
import type { Activity, ActivityHandler } from 'botbuilder';
import express, { type Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { TeamsAdapter } from './create-teams-adapter.ts';
import type { EndorsementCheck } from './require-teams-endorsement.ts';

export const TEAMS_MESSAGES_PATH = '/api/messages';

/** Only what the endpoint itself needs; botbuilder reads the rest of the activity. */
const inboundActivitySchema = z.looseObject({
  type: z.string().min(1),
  channelId: z.string().optional(),
  serviceUrl: z.string().optional(),
});

export interface TeamsEndpointOptions {
  teams: TeamsAdapter;
  /** The bot (TeamsBot); its `run` is called only for requests with a valid token. */
  bot: Pick<ActivityHandler, 'run'>;
  /** The extra key check (createEndorsementCheck over the channel's OpenID metadata). */
  requireEndorsement: EndorsementCheck;
  log: Logger;
}

export function createTeamsEndpoint({ teams, bot, requireEndorsement, log }: TeamsEndpointOptions): Router {
  const router = express.Router();
  router.post(TEAMS_MESSAGES_PATH, express.json({ limit: '256kb' }), async (req, res) => {
    const parsed = inboundActivitySchema.safeParse(req.body);
    if (!parsed.success) {
      throw new AppError('VALIDATION_FAILED', { detail: 'the body is not a Bot Framework activity' });
    }
    // botbuilder validates the activity's other fields itself; the shape above is all we rely on.
    const activity = parsed.data as unknown as Activity;
    const header = req.headers.authorization ?? '';
    let verified;
    try {
      verified = await teams.authentication.authenticateRequest(activity, header);
      await requireEndorsement(header, parsed.data.channelId);
    } catch (error) {
      log.warn(
        {
          reason: error instanceof Error ? error.message : String(error),
          serviceUrl: parsed.data.serviceUrl,
        },
        'Teams request refused: invalid channel token',
      );
      throw new AppError('BOT_AUTH_FAILED', {
        detail: 'the request does not carry a valid Bot Framework channel token',
        cause: error,
      });
    }
    const answer = await teams.adapter.runVerified(verified, activity, (context) => bot.run(context));
    if (answer?.body === undefined) {
      res.status(answer?.status ?? 200).end();
      return;
    }
    res.status(answer.status).json(answer.body);
  });
  return router;
}
