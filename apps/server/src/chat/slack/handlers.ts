// Slack interactivity: Approve and Deny clicks, the deny-reason modal, and Acknowledge and Flag on
// a break-glass card. The handlers only translate: ack, parse the Bolt payload, hand the click to
// the chat core, and render what it says (the deny modal, the clicker's private refusal).
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { CountChatCall } from '../count-chat-call.ts';
import { guardChatHandler } from '../guard-chat-handler.ts';
import {
  decideFromCard,
  denyReasonProblem,
  promptDeny,
  type CardClick,
  type ChatDeps,
} from '../handle-card-action.ts';
import type { ReviewOutcome } from '../../approvals/break-glass/review-break-glass.ts';
import { reviewFromCard } from '../review-from-card.ts';
import {
  ACKNOWLEDGE_ACTION_ID,
  APPROVE_ACTION_PATTERN,
  DENY_ACTION_ID,
  DENY_MODAL_CALLBACK_ID,
  DENY_REASON_ACTION_ID,
  DENY_REASON_BLOCK_ID,
  FLAG_ACTION_ID,
  grantMinutesOf,
  parseCardBlockId,
  renderDenyModal,
} from './cards.ts';
import { lookUpSlackUser } from './identity.ts';
import type { SlackWorkspaces } from './workspace.ts';

export interface SlackHandlerDeps extends ChatDeps {
  workspaces: SlackWorkspaces;
  /** Counts each Web API call (countersign_chat_api_calls_total). */
  countCall: CountChatCall;
}

const userSchema = z.object({ id: z.string().min(1), team_id: z.string().optional() });
const teamSchema = z.object({ id: z.string() }).nullish();
const enterpriseSchema = z.object({ id: z.string() }).nullish();

const clickSchema = z.object({
  user: userSchema,
  team: teamSchema,
  enterprise: enterpriseSchema,
  container: z.object({ channel_id: z.string().min(1), message_ts: z.string().min(1) }),
  actions: z
    .array(z.object({ action_id: z.string(), block_id: z.string(), value: z.string().optional() }))
    .min(1),
  trigger_id: z.string(),
});

const submissionSchema = z.object({ user: userSchema, team: teamSchema, enterprise: enterpriseSchema });

/** Carried through the modal: which card the Deny came from. */
const modalMetadata = z.object({ requestId: z.uuid(), channelId: z.string(), messageTs: z.string() });

interface SlackClicker {
  user: z.infer<typeof userSchema>;
  team?: z.infer<typeof teamSchema>;
  enterprise?: z.infer<typeof enterpriseSchema>;
}

async function toCardClick(
  deps: SlackHandlerDeps,
  client: WebClient,
  who: SlackClicker,
  card: { requestId: string; boundRequestId: string | null; channelId: string; messageTs: string },
): Promise<CardClick> {
  const teamId = who.user.team_id ?? who.team?.id;
  return {
    platform: 'slack',
    channel: `slack:${card.channelId}`,
    messageId: card.messageTs,
    requestId: card.requestId,
    boundRequestId: card.boundRequestId,
    clicker: {
      userId: who.user.id,
      identityKey: who.user.id,
      isOwnTenant: await deps.workspaces.isOwn(teamId, who.enterprise?.id),
      lookup: lookUpSlackUser(client, deps.countCall, who.user.id),
    },
  };
}

function tellClicker(deps: SlackHandlerDeps, client: WebClient, channelId: string, userId: string) {
  return async (text: string): Promise<void> => {
    await deps.countCall('chat.postEphemeral', () =>
      client.chat.postEphemeral({ channel: channelId, user: userId, text }),
    );
  };
}

/** Tells the person who clicked a card, privately, in the card's channel. */
function tellClickerOf(deps: SlackHandlerDeps, client: WebClient, click: CardClick) {
  return tellClicker(deps, client, click.channel.slice('slack:'.length), click.clicker.userId);
}

async function clickFrom(
  deps: SlackHandlerDeps,
  client: WebClient,
  body: unknown,
): Promise<{ click: CardClick; triggerId: string } | undefined> {
  const parsed = clickSchema.safeParse(body);
  const action = parsed.data?.actions[0];
  if (!parsed.success || !action) {
    deps.log.warn(
      { issues: parsed.error?.issues.length },
      'Slack interaction without user, card or action: ignored',
    );
    return undefined;
  }
  const click = await toCardClick(deps, client, parsed.data, {
    requestId: action.value ?? '',
    boundRequestId: parseCardBlockId(action.block_id),
    channelId: parsed.data.container.channel_id,
    messageTs: parsed.data.container.message_ts,
  });
  return { click, triggerId: parsed.data.trigger_id };
}

function channelAndUser(body: unknown): { channelId: string; userId: string } | undefined {
  const parsed = clickSchema.safeParse(body);
  return parsed.success
    ? { channelId: parsed.data.container.channel_id, userId: parsed.data.user.id }
    : undefined;
}

/** Runs a click handler inside the chat error boundary; the clicker hears of any failure. */
function guarded(
  deps: SlackHandlerDeps,
  client: WebClient,
  body: unknown,
  handling: string,
  run: () => Promise<void>,
) {
  const where = channelAndUser(body);
  return guardChatHandler(
    deps.log,
    { platform: 'slack', handling, userId: where?.userId },
    run,
    where ? tellClicker(deps, client, where.channelId, where.userId) : () => Promise.resolve(),
  );
}

export function registerSlackHandlers(app: App, deps: SlackHandlerDeps): void {
  // One handler for Approve and Approve for N min: the button's action id carries the window.
  app.action(APPROVE_ACTION_PATTERN, async ({ ack, body, client, action }) => {
    await ack();
    await guarded(deps, client, body, 'approve click', async () => {
      const accepted = await clickFrom(deps, client, body);
      if (!accepted) return;
      const grantMinutes = grantMinutesOf('action_id' in action ? action.action_id : '');
      const outcome = await decideFromCard(deps, accepted.click, { verdict: 'approve', grantMinutes });
      if (outcome.kind === 'refused') await tellClickerOf(deps, client, accepted.click)(outcome.text);
    });
  });

  // Acknowledge and Flag on a break-glass card: the review; its refusals are told privately.
  const reviewClick = (actionId: string, outcome: ReviewOutcome) =>
    app.action(actionId, async ({ ack, body, client }) => {
      await ack();
      await guarded(deps, client, body, `${outcome} click`, async () => {
        const accepted = await clickFrom(deps, client, body);
        if (!accepted) return;
        const result = await reviewFromCard(deps, accepted.click, outcome);
        if (result.kind === 'refused') await tellClickerOf(deps, client, accepted.click)(result.text);
      });
    });
  reviewClick(ACKNOWLEDGE_ACTION_ID, 'acknowledged');
  reviewClick(FLAG_ACTION_ID, 'flagged');

  app.action(DENY_ACTION_ID, async ({ ack, body, client }) => {
    await ack();
    await guarded(deps, client, body, 'deny click', async () => {
      const accepted = await clickFrom(deps, client, body);
      if (!accepted) return;
      const { click } = accepted;
      const prompt = await promptDeny(deps, click);
      if ('kind' in prompt) {
        await tellClickerOf(deps, client, click)(prompt.text);
        return;
      }
      const openModal = () =>
        client.views.open({
          trigger_id: accepted.triggerId,
          view: renderDenyModal({
            requestId: click.requestId,
            title: prompt.title,
            reasonRequired: prompt.reasonRequired,
            privateMetadata: JSON.stringify({
              requestId: click.requestId,
              channelId: click.channel.slice('slack:'.length),
              messageTs: click.messageId,
            } satisfies z.infer<typeof modalMetadata>),
          }),
        });
      await deps.countCall('views.open', openModal);
    });
  });

  app.view(DENY_MODAL_CALLBACK_ID, async ({ ack, body, view, client }) => {
    const meta = (() => {
      try {
        return modalMetadata.safeParse(JSON.parse(view.private_metadata)).data;
      } catch {
        return undefined;
      }
    })();
    const who = submissionSchema.safeParse(body);
    if (!meta || !who.success) {
      await ack();
      deps.log.warn('Slack deny submission without its card or user: ignored');
      return;
    }
    const reason = view.state.values[DENY_REASON_BLOCK_ID]?.[DENY_REASON_ACTION_ID]?.value?.trim() ?? '';
    const tell = tellClicker(deps, client, meta.channelId, who.data.user.id);
    const problem = await denyReasonProblem(deps, 'slack', meta.requestId, reason);
    if (problem) {
      await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK_ID]: problem } });
      return;
    }
    await ack();
    await guardChatHandler(
      deps.log,
      { platform: 'slack', handling: 'deny submission', userId: who.data.user.id },
      async () => {
        // The modal's card is checked like a button: the submission must name a card that exists.
        const click = await toCardClick(deps, client, who.data, {
          requestId: meta.requestId,
          boundRequestId: meta.requestId,
          channelId: meta.channelId,
          messageTs: meta.messageTs,
        });
        const outcome = await decideFromCard(deps, click, { verdict: 'deny', reason: reason || undefined });
        if (outcome.kind === 'refused') await tell(outcome.text);
      },
      tell,
    );
  });
}
