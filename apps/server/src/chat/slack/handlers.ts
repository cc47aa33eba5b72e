// Slack interactivity: Approve and Deny clicks and the deny-reason modal. The handlers only
// translate: ack, check the button belongs to the card it came from, resolve the clicker's email,
// call recordDecision, and tell the clicker privately when it refused.
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { recordDecision } from '../../approvals/record-decision.ts';
import { isUuid } from '../../approvals/find-request.ts';
import type { Deps } from '../../deps.ts';
import { isAppError } from '../../errors.ts';
import {
  APPROVE_ACTION_ID,
  DENY_ACTION_ID,
  DENY_MODAL_CALLBACK_ID,
  DENY_REASON_ACTION_ID,
  DENY_REASON_BLOCK_ID,
  parseCardBlockId,
  refusalMessage,
  renderDenyModal,
} from './cards.ts';
import type { SlackIdentityResolver } from './identity.ts';

export interface SlackHandlerDeps extends Deps {
  identity: SlackIdentityResolver;
}

interface Click {
  requestId: string;
  channelId: string;
  messageTs: string;
  userId: string;
}

const clickSchema = z.object({
  user: z.object({ id: z.string() }),
  container: z.object({ channel_id: z.string(), message_ts: z.string() }),
  actions: z
    .array(z.object({ action_id: z.string(), block_id: z.string(), value: z.string().optional() }))
    .min(1),
  trigger_id: z.string(),
});

const modalMetadata = z.object({ requestId: z.uuid(), channelId: z.string(), messageTs: z.string() });

/** The button must carry this request's id and sit on the card posted for it in this channel. */
async function isButtonOfItsCard(deps: Deps, click: Click, blockId: string): Promise<boolean> {
  if (!isUuid(click.requestId) || parseCardBlockId(blockId) !== click.requestId) return false;
  const card = await deps.db.prisma.chatCard.findUnique({
    where: { requestId_channel: { requestId: click.requestId, channel: `slack:${click.channelId}` } },
    select: { messageId: true },
  });
  return card?.messageId === click.messageTs;
}

async function tellClicker(
  client: WebClient,
  click: Pick<Click, 'channelId' | 'userId'>,
  code: string,
): Promise<void> {
  await client.chat.postEphemeral({
    channel: click.channelId,
    user: click.userId,
    text: refusalMessage(code),
  });
}

async function decide(
  deps: SlackHandlerDeps,
  client: WebClient,
  click: Click,
  verdict: 'approve' | 'deny',
  reason?: string,
): Promise<void> {
  const who = await deps.identity.resolve(click.userId);
  try {
    await recordDecision(deps, {
      requestId: click.requestId,
      verdict,
      reason,
      approver: {
        email: who.email,
        platform: 'slack',
        platformUserId: click.userId,
        displayName: who.displayName,
      },
    });
  } catch (error) {
    if (!isAppError(error)) throw error;
    deps.log.info(
      { code: error.code, requestId: click.requestId, userId: click.userId },
      'Slack decision refused',
    );
    await tellClicker(client, click, error.code);
  }
}

function parseClick(body: unknown): (Click & { blockId: string; triggerId: string }) | undefined {
  const parsed = clickSchema.safeParse(body);
  const action = parsed.data?.actions[0];
  if (!parsed.success || !action) return undefined;
  return {
    requestId: action.value ?? '',
    channelId: parsed.data.container.channel_id,
    messageTs: parsed.data.container.message_ts,
    userId: parsed.data.user.id,
    blockId: action.block_id,
    triggerId: parsed.data.trigger_id,
  };
}

/** The click, if it is well-formed and its button belongs to its card; otherwise the clicker is told. */
async function acceptedClick(
  deps: SlackHandlerDeps,
  client: WebClient,
  body: unknown,
): Promise<ReturnType<typeof parseClick>> {
  const click = parseClick(body);
  if (!click) return undefined;
  if (await isButtonOfItsCard(deps, click, click.blockId)) return click;
  await tellClicker(client, click, 'BUTTON_MISMATCH');
  return undefined;
}

export function registerSlackHandlers(app: App, deps: SlackHandlerDeps): void {
  app.action(APPROVE_ACTION_ID, async ({ ack, body, client }) => {
    await ack();
    const click = await acceptedClick(deps, client, body);
    if (click) await decide(deps, client, click, 'approve');
  });

  app.action(DENY_ACTION_ID, async ({ ack, body, client }) => {
    await ack();
    const click = await acceptedClick(deps, client, body);
    if (!click) return;
    const request = await deps.db.prisma.approvalRequest.findUnique({
      where: { id: click.requestId },
      select: { title: true, action: true, denyReasonRequired: true },
    });
    if (!request) return;
    await client.views.open({
      trigger_id: click.triggerId,
      view: renderDenyModal({
        requestId: click.requestId,
        title: request.title ?? request.action,
        reasonRequired: request.denyReasonRequired,
        privateMetadata: JSON.stringify({
          requestId: click.requestId,
          channelId: click.channelId,
          messageTs: click.messageTs,
        } satisfies z.infer<typeof modalMetadata>),
      }),
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
    if (!meta) {
      await ack();
      return;
    }
    const reason = view.state.values[DENY_REASON_BLOCK_ID]?.[DENY_REASON_ACTION_ID]?.value?.trim() ?? '';
    const request = await deps.db.prisma.approvalRequest.findUnique({
      where: { id: meta.requestId },
      select: { denyReasonRequired: true },
    });
    if (request?.denyReasonRequired && !reason) {
      await ack({
        response_action: 'errors',
        errors: { [DENY_REASON_BLOCK_ID]: refusalMessage('DENY_REASON_REQUIRED') },
      });
      return;
    }
    await ack();
    await decide(deps, client, { ...meta, userId: body.user.id }, 'deny', reason || undefined);
  });
}
