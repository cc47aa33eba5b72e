// What Bolt does with validly signed payloads Countersign does not expect: a click or a modal
// submission without its user (or a click without its container) is a 400 logged at warn, never
// a 500 from deep inside Bolt; a payload no handler of ours matches is acknowledged at once and
// logged at debug, instead of Bolt's 3-second wait, 404 and error line.
import {
  HTTPModuleFunctions,
  type AnyMiddlewareArgs,
  type Middleware,
  type ReceiverProcessEventErrorHandlerArgs,
} from '@slack/bolt';
import { z } from 'zod';
import type { Logger } from '../../observability/logger.ts';
import {
  ACKNOWLEDGE_ACTION_ID,
  APPROVE_ACTION_PATTERN,
  DENY_ACTION_ID,
  DENY_MODAL_CALLBACK_ID,
  FLAG_ACTION_ID,
} from './cards.ts';

/** The buttons of our cards that have a handler (slack/handlers.ts). */
const HANDLED_ACTION_IDS = new Set([DENY_ACTION_ID, ACKNOWLEDGE_ACTION_ID, FLAG_ACTION_ID]);
import { SLASH_COMMAND } from './report-command.ts';

const user = z.object({ id: z.string().min(1) });
const interaction = z.discriminatedUnion('type', [
  z.object({ type: z.literal('block_actions'), user, container: z.object({}).loose() }),
  z.object({ type: z.literal('view_submission'), user, view: z.object({}).loose() }),
]);

/** A click or submission without what every one carries; undefined for anything else. */
export function malformedInteraction(body: unknown): string | undefined {
  const type = z.object({ type: z.string() }).safeParse(body).data?.type;
  if (type !== 'block_actions' && type !== 'view_submission') return undefined;
  const parsed = interaction.safeParse(body);
  return parsed.success
    ? undefined
    : parsed.error.issues.map((i) => i.path.join('.') || '(payload)').join(', ');
}

class MalformedSlackPayload extends Error {}

/** Bolt hands errors to app.error wrapped (UnknownError.original) or as they were thrown. */
export function isMalformedSlackPayload(error: unknown): boolean {
  if (error instanceof MalformedSlackPayload) return true;
  return (
    typeof error === 'object' &&
    error !== null &&
    'original' in error &&
    error.original instanceof MalformedSlackPayload
  );
}

/** Global Bolt middleware: refuses malformed interactions, acknowledges what no handler takes. */
export function slackPayloadGuard(log: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const malformed = malformedInteraction(args.body);
    if (malformed) throw new MalformedSlackPayload(malformed);
    if (isOurs(args.body)) {
      await args.next();
      return;
    }
    // Events are acknowledged by Bolt itself; everything else waits on an ack.
    if ('ack' in args && typeof args.ack === 'function') await args.ack();
    log.debug({ kind: describe(args.body) }, 'Slack payload no handler matches: acknowledged');
  };
}

const bodySchema = z.object({
  type: z.string().optional(),
  command: z.string().optional(),
  actions: z.array(z.object({ action_id: z.string() }).loose()).optional(),
  view: z.object({ callback_id: z.string() }).loose().optional(),
});

function isOurs(body: unknown): boolean {
  const parsed = bodySchema.safeParse(body).data;
  if (!parsed) return false;
  if (parsed.command !== undefined) return parsed.command === SLASH_COMMAND;
  if (parsed.type === 'event_callback' || parsed.type === 'url_verification') return true;
  if (parsed.type === 'block_actions') {
    return (parsed.actions ?? []).some(
      (a) => HANDLED_ACTION_IDS.has(a.action_id) || APPROVE_ACTION_PATTERN.test(a.action_id),
    );
  }
  if (parsed.type === 'view_submission') return parsed.view?.callback_id === DENY_MODAL_CALLBACK_ID;
  return false;
}

function describe(body: unknown): string {
  const parsed = bodySchema.safeParse(body).data;
  return parsed?.command ?? parsed?.type ?? 'unknown';
}

/** ExpressReceiver's processEventErrorHandler: malformed interactions get 400, the rest Bolt's answer. */
export function answerSlackProcessError(log: Logger) {
  return async (args: ReceiverProcessEventErrorHandlerArgs): Promise<boolean> => {
    const body: unknown = (args.request as typeof args.request & { body?: unknown }).body;
    const malformed = isMalformedSlackPayload(args.error)
      ? (malformedInteraction(body) ?? 'user')
      : malformedInteraction(body);
    if (malformed === undefined || args.response.headersSent) {
      return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
    }
    log.warn(
      { missing: malformed, kind: describe(body) },
      'Slack payload without its user or container refused',
    );
    args.response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    args.response.end('this Slack payload lacks its user or container');
    return false;
  };
}
