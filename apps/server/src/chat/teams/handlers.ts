// Teams activities into the chat core and back: an Action.Execute on a card becomes a CardClick
// (answered with the refreshed card, or the clicker's private refusal), a personal-chat message
// `report …` / `help` becomes the report command (summary card, CSV through file consent).
import { DECISIONS_IN_ORDER, isUuid } from '../../approvals/find-request.ts';
import type { RecordDecisionResult } from '../../approvals/record-decision.ts';
import { viewerMayDecide } from '../../approvals/viewer-may-decide.ts';
import type { ChatOrigin } from '../../audit/event-types.ts';
import { presentWithReceipt } from '../../approvals/view/present-with-receipt.ts';
import { buildCardView } from '../card-view.ts';
import { guardChatHandler } from '../guard-chat-handler.ts';
import {
  decideFromCard,
  denyReasonProblem,
  isCardOfItsMessage,
  type CardClick,
  type ChatDeps,
} from '../handle-card-action.ts';
import type { ChatIdentity } from '../identity-cache.ts';
import { refusalText } from '../refusal-text.ts';
import { parseCommandText, runReportCommand } from '../report-command.ts';
import { readFile } from 'node:fs/promises';
import { answerWithCard, answerWithMessage, type InvokeAnswer } from './answer-invoke.ts';
import { reviewFromCard } from '../review-from-card.ts';
import {
  ACKNOWLEDGE_VERB,
  APPROVE_VERB,
  DENY_REASON_INPUT,
  DENY_VERB,
  FLAG_VERB,
  GRANT_MINUTES_FIELD,
  REFRESH_VERB,
  renderTeamsCard,
} from './cards.ts';
import { findRefreshAudience } from './refresh-audience.ts';
import { renderReportSummaryCard } from './report-card.ts';
import type { TeamsBotHandlers, TeamsCardAction, TeamsMessage, TeamsTurnTools } from './teams-turn.ts';

export const TEAMS_REPORT_USAGE =
  'Usage: write `report`, `report 7d` or `report 2030-01-01..2030-01-31` to me in a personal chat. ' +
  'Without a period: the last 30 days. Only members of the policy group `auditors` may run it.';

export interface TeamsHandlerSettings {
  /** MICROSOFT_APP_TENANT_ID: when set, only its users may decide. */
  tenantId: string | undefined;
  publicUrl: string | undefined;
}

function lookUpSender(turn: TeamsTurnTools): () => Promise<ChatIdentity> {
  return async () => {
    const who = await turn.resolveSender();
    // Teams would not vouch for this member (not in the roster, bot removed): ask again next time.
    if (!who) throw new Error('Teams member lookup gave no member');
    return { email: who.email, displayName: who.displayName };
  };
}

function stringField(data: Record<string, unknown>, name: string): string | undefined {
  const value = data[name];
  return typeof value === 'string' ? value : undefined;
}

/** The grant window an approve action carries; anything but a number is passed on as NaN, which
 * the core refuses like any malformed window. */
function grantMinutesField(data: Record<string, unknown>): number | undefined {
  const value = data[GRANT_MINUTES_FIELD];
  if (value === undefined) return undefined;
  return typeof value === 'number' ? value : Number.NaN;
}

/** The card as it now stands, from the request recordDecision returned (no second read): the
 * clicker has decided, so their view has no buttons left. */
async function cardAfter(deps: ChatDeps, settings: TeamsHandlerSettings, result: RecordDecisionResult) {
  const view = buildCardView(await presentWithReceipt(deps, result.request), {
    denyReasonRequired: result.request.denyReasonRequired,
    grantUpToSeconds: result.request.grantUpTo,
    publicUrl: settings.publicUrl,
  });
  if (!view.showButtons) return renderTeamsCard(view);
  return renderTeamsCard(view, {
    audience: await findRefreshAudience(deps, view.requestId),
    viewer: 'onlooker',
  });
}

function clickOf(settings: TeamsHandlerSettings, action: TeamsCardAction, turn: TeamsTurnTools): CardClick {
  const requestId = stringField(action.data, 'requestId') ?? '';
  return {
    platform: 'teams',
    channel: `teams:${action.conversationId}`,
    messageId: action.cardActivityId ?? '',
    requestId,
    boundRequestId: requestId,
    clicker: {
      userId: action.clicker.aadObjectId ?? action.clicker.id,
      identityKey: `${action.tenantId ?? ''}:${action.clicker.aadObjectId ?? action.clicker.id}`,
      isOwnTenant: settings.tenantId === undefined || action.tenantId === settings.tenantId,
      lookup: lookUpSender(turn),
    },
  };
}

/**
 * The Universal Actions refresh (`refreshCard`, automatic or asked for): the card this person may
 * see. Approve/Deny only for whoever could decide now (viewerMayDecide); everyone else, the
 * requester included, gets the status card.
 */
async function onRefresh(deps: ChatDeps, settings: TeamsHandlerSettings, click: CardClick) {
  if (!isUuid(click.requestId) || !(await isCardOfItsMessage(deps, click)))
    return answerWithMessage(refusalText('CARD_MISMATCH', 'teams'));
  const request = await deps.db.prisma.approvalRequest.findUnique({
    where: { id: click.requestId },
    include: DECISIONS_IN_ORDER,
  });
  if (!request) return answerWithMessage(refusalText('NOT_FOUND', 'teams'));
  const view = buildCardView(await presentWithReceipt(deps, request), {
    denyReasonRequired: request.denyReasonRequired,
    grantUpToSeconds: request.grantUpTo,
    publicUrl: settings.publicUrl,
  });
  if (!view.showButtons) return answerWithCard(renderTeamsCard(view));
  const who = click.clicker.isOwnTenant
    ? await deps.identity.resolve(click.clicker.identityKey, click.clicker.lookup)
    : null;
  const mayDecide = await viewerMayDecide(deps.db, request, who?.email ?? null, deps.clock.now());
  const audience = await findRefreshAudience(deps, request.id);
  return answerWithCard(renderTeamsCard(view, { audience, viewer: mayDecide ? 'approver' : 'onlooker' }));
}

async function onCardAction(
  deps: ChatDeps,
  settings: TeamsHandlerSettings,
  action: TeamsCardAction,
  turn: TeamsTurnTools,
): Promise<InvokeAnswer> {
  const click = clickOf(settings, action, turn);
  if (action.verb === REFRESH_VERB) return onRefresh(deps, settings, click);
  if (action.verb === ACKNOWLEDGE_VERB || action.verb === FLAG_VERB) {
    const reviewed = await reviewFromCard(
      deps,
      click,
      action.verb === ACKNOWLEDGE_VERB ? 'acknowledged' : 'flagged',
    );
    if (reviewed.kind === 'refused') return answerWithMessage(reviewed.text);
    return onRefresh(deps, settings, click);
  }
  if (action.verb !== APPROVE_VERB && action.verb !== DENY_VERB) {
    return answerWithMessage(refusalText('CARD_MISMATCH', 'teams'));
  }
  const requestId = click.requestId;
  const reason = stringField(action.data, DENY_REASON_INPUT)?.trim() ?? '';
  if (action.verb === DENY_VERB) {
    const problem = await denyReasonProblem(deps, 'teams', requestId, reason);
    if (problem) return answerWithMessage(problem);
  }
  const outcome = await decideFromCard(deps, click, {
    verdict: action.verb === APPROVE_VERB ? 'approve' : 'deny',
    reason: reason || undefined,
    grantMinutes: action.verb === APPROVE_VERB ? grantMinutesField(action.data) : undefined,
  });
  if (outcome.kind === 'refused') return answerWithMessage(outcome.text);
  return answerWithCard(await cardAfter(deps, settings, outcome.result));
}

async function onMessage(deps: ChatDeps, message: TeamsMessage, turn: TeamsTurnTools): Promise<void> {
  const parsed = parseCommandText(message.text);
  if (parsed.kind === 'help') {
    await turn.reply(TEAMS_REPORT_USAGE);
    return;
  }
  if (parsed.kind === 'invalid') {
    await turn.reply(`${parsed.message}\n\n${TEAMS_REPORT_USAGE}`);
    return;
  }
  if (message.conversationType !== 'personal') {
    await turn.reply('Reports are sent in a personal chat: write `report` to me there.');
    return;
  }
  const origin: ChatOrigin = {
    platform: 'teams',
    userId: message.from.aadObjectId ?? message.from.id,
    channelId: message.conversationId,
  };
  const who = await deps.identity.resolve(
    `${message.tenantId ?? ''}:${message.from.aadObjectId ?? message.from.id}`,
    lookUpSender(turn),
  );
  const outcome = await runReportCommand(
    deps,
    { who, origin, text: message.text, command: 'report', period: { from: parsed.from, to: parsed.to } },
    async (file, period) => {
      await turn.replyWithCard(
        renderReportSummaryCard(
          period,
          file.summary,
          `The CSV (${file.rows} rows) follows: accept the file to receive it.`,
        ),
      );
      await turn.offerFile({
        name: file.filename,
        content: await readFile(file.path),
        description: `Countersign audit report (${file.rows} requests)`,
      });
    },
  );
  if (outcome.kind === 'refused') await turn.reply(outcome.text);
  if (outcome.kind === 'bad_period') await turn.reply(`${outcome.message}\n\n${TEAMS_REPORT_USAGE}`);
}

export function createTeamsHandlers(deps: ChatDeps, settings: TeamsHandlerSettings): TeamsBotHandlers {
  return {
    onCardAction: async (action, turn) =>
      (await guardChatHandler(
        deps.log,
        {
          platform: 'teams',
          handling: `${action.verb} click`,
          userId: action.clicker.aadObjectId ?? action.clicker.id,
        },
        () => onCardAction(deps, settings, action, turn),
        (text) => Promise.resolve(answerWithMessage(text)),
      )) ?? answerWithMessage(refusalText('INTERNAL', 'teams')),
    onMessage: async (message, turn) => {
      await guardChatHandler(
        deps.log,
        { platform: 'teams', handling: 'message', userId: message.from.aadObjectId ?? message.from.id },
        () => onMessage(deps, message, turn),
        async () => {
          await turn.reply('That could not be done; the server log has the details.');
        },
      );
    },
    onFileConsent: async (result, turn) => {
      if (result.outcome === 'upload_failed')
        await turn.reply('The report file could not be uploaded; please try again.');
      if (result.outcome === 'unknown_offer')
        await turn.reply('That file offer is no longer available; write `report` again.');
    },
  };
}
