// The /countersign slash command in Slack. The chat core parses it, checks the auditor and writes
// the report; this file acknowledges within Slack's 3 s, answers through the response_url, and
// uploads the CSV with files.uploadV2 into the auditor's DM with the app.
import type { App, RespondFn, SlashCommand } from '@slack/bolt';
import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import type { ChatOrigin } from '../../audit/event-types.ts';
import type { ReportPeriod } from '../../audit/report/report-period.ts';
import type { CountChatCall } from '../count-chat-call.ts';
import { guardChatHandler } from '../guard-chat-handler.ts';
import type { ChatDeps } from '../handle-card-action.ts';
import {
  parseCommandText,
  runReportCommand,
  type ReportCommandText,
  type ReportFile,
} from '../report-command.ts';
import { lookUpSlackUser } from './identity.ts';
import { periodLabel } from '../report-summary-view.ts';
import { REPORT_USAGE, reportSummaryMessage } from './report-message.ts';

export const SLASH_COMMAND = '/countersign';

export interface SlackReportDeps extends ChatDeps {
  /** Counts each call to Slack (countersign_chat_api_calls_total). */
  countCall: CountChatCall;
}

async function uploadToDm(
  deps: SlackReportDeps,
  client: WebClient,
  userId: string,
  period: ReportPeriod,
  file: ReportFile,
) {
  try {
    const dm = await deps.countCall('conversations.open', () => client.conversations.open({ users: userId }));
    const channelId = dm.channel?.id;
    if (!channelId) throw new Error('conversations.open answered without a channel');
    // One count for the SDK's upload (files.getUploadURLExternal, the bytes, files.completeUploadExternal).
    await deps.countCall('files.uploadV2', () =>
      client.files.uploadV2({
        channel_id: channelId,
        file: file.path,
        filename: file.filename,
        title: `Countersign audit report, ${periodLabel(period)}`,
        initial_comment: `Audit report, ${periodLabel(period)}: ${file.rows} requests.`,
      }),
    );
    return `The CSV (${file.rows} rows) is in your direct messages with the app.`;
  } catch (error) {
    deps.log.warn({ err: error }, 'Slack report upload failed');
    const code =
      error instanceof WebAPIPlatformError
        ? error.data.error
        : error instanceof Error
          ? error.message
          : String(error);
    return `The CSV could not be uploaded (${code}). The app needs the im:write and files:write scopes; \`countersign audit report\` gives the same file.`;
  }
}

async function handleReport(
  deps: SlackReportDeps,
  client: WebClient,
  respond: RespondFn,
  command: SlashCommand,
  parsed: Extract<ReportCommandText, { kind: 'report' }>,
): Promise<void> {
  const reply = (message: { text: string; blocks?: object[] }) =>
    deps.countCall('response_url', () =>
      respond({ response_type: 'ephemeral', replace_original: false, ...message }),
    );
  const origin: ChatOrigin = { platform: 'slack', userId: command.user_id, channelId: command.channel_id };
  const who = await deps.identity.resolve(
    command.user_id,
    lookUpSlackUser(client, deps.countCall, command.user_id),
  );
  const outcome = await runReportCommand(
    deps,
    {
      who,
      origin,
      text: command.text,
      command: `${SLASH_COMMAND} report`,
      period: { from: parsed.from, to: parsed.to },
    },
    async (file, period) => ({
      period,
      summary: file.summary,
      fileNote: await uploadToDm(deps, client, command.user_id, period, file),
    }),
  );
  if (outcome.kind === 'refused') await reply({ text: outcome.text });
  else if (outcome.kind === 'bad_period') await reply({ text: `${outcome.message}\n${REPORT_USAGE}` });
  else {
    const { period, summary, fileNote } = outcome.value;
    await reply(reportSummaryMessage(period, summary, fileNote));
  }
}

export function registerReportCommand(app: App, deps: SlackReportDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    const parsed = parseCommandText(command.text);
    if (parsed.kind !== 'report') {
      const text = parsed.kind === 'help' ? REPORT_USAGE : `${parsed.message}\n${REPORT_USAGE}`;
      await ack({ response_type: 'ephemeral', text });
      return;
    }
    // Slack wants the answer within 3 s: acknowledge now, answer through the response_url.
    await ack();
    await guardChatHandler(
      deps.log,
      { platform: 'slack', handling: 'report command', userId: command.user_id },
      () => handleReport(deps, client, respond, command, parsed),
      async () => {
        await deps.countCall('response_url', () =>
          respond({
            response_type: 'ephemeral',
            replace_original: false,
            text: 'The report could not be produced; the server log has the details.',
          }),
        );
      },
    );
  });
}
