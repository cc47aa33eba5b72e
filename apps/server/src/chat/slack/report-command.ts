// The /countersign slash command: `report [7d|30d|<from>..<to>]` for members of the policy group
// `auditors`. Anyone else is refused privately and the attempt is audited. An auditor gets the
// summary privately and the CSV in a direct message from the app (files.uploadV2).
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App, RespondFn, SlashCommand } from '@slack/bolt';
import { WebAPIPlatformError, type WebClient } from '@slack/web-api';
import { appendAuditEvent } from '../../audit/append-event.ts';
import type { ChatOrigin } from '../../audit/event-types.ts';
import { generateReport } from '../../audit/report/generate-report.ts';
import {
  parseReportPeriod,
  reportFileName,
  ReportPeriodError,
  type ReportPeriod,
} from '../../audit/report/report-period.ts';
import type { Deps } from '../../deps.ts';
import type { SlackIdentityResolver } from './identity.ts';
import { periodLabel, REPORT_REFUSALS, REPORT_USAGE, reportSummaryMessage } from './report-message.ts';

export const SLASH_COMMAND = '/countersign';
export const AUDITORS_GROUP = 'auditors';

export type ReportCommandText =
  | { kind: 'report'; from: string | undefined; to: string | undefined }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

/** `report`, `report 7d`, `report 2030-01-01..2030-01-31` (either side may be left out), `help`. */
export function parseCommandText(text: string): ReportCommandText {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb, period, ...rest] = words;
  if (verb === undefined || verb.toLowerCase() === 'help') return { kind: 'help' };
  if (verb.toLowerCase() !== 'report') return { kind: 'invalid', message: `Unknown command \`${verb}\`.` };
  if (rest.length > 0) return { kind: 'invalid', message: 'Give one period, without spaces.' };
  if (period === undefined) return { kind: 'report', from: undefined, to: undefined };
  const range = period.indexOf('..');
  if (range === -1) return { kind: 'report', from: period, to: undefined };
  const from = period.slice(0, range);
  const to = period.slice(range + 2);
  return { kind: 'report', from: from || undefined, to: to || undefined };
}

export interface ReportCommandDeps extends Deps {
  identity: SlackIdentityResolver;
}

async function recordRefusal(
  deps: Deps,
  refusal: { actor: string; reason: keyof typeof REPORT_REFUSALS; origin: ChatOrigin; text: string },
): Promise<void> {
  const now = deps.clock.now();
  await deps.db.prisma.$transaction((tx) =>
    appendAuditEvent(
      tx,
      {
        type: 'report.refused',
        actor: refusal.actor,
        payload: { reason: refusal.reason, origin: refusal.origin, text: refusal.text },
      },
      now,
    ),
  );
}

/** Writes the CSV to a temporary file, uploads it to the auditor's DM, and says where it went. */
async function runReport(
  deps: Deps,
  client: WebClient,
  run: { period: ReportPeriod; email: string; origin: ChatOrigin },
): Promise<{ summary: Awaited<ReturnType<typeof generateReport>>['summary']; fileNote: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'countersign-slack-report-'));
  try {
    const filename = reportFileName(run.period, 'csv');
    const path = join(dir, filename);
    const out = createWriteStream(path);
    const report = await generateReport({
      db: deps.db,
      period: run.period,
      format: 'csv',
      out,
      actor: run.email,
      origin: run.origin,
      now: () => deps.clock.now(),
    });
    out.end();
    await once(out, 'finish');
    try {
      const dm = await client.conversations.open({ users: run.origin.userId });
      const channelId = dm.channel?.id;
      if (!channelId) throw new Error('conversations.open answered without a channel');
      await client.files.uploadV2({
        channel_id: channelId,
        file: path,
        filename,
        title: `Countersign audit report, ${periodLabel(run.period)}`,
        initial_comment: `Audit report, ${periodLabel(run.period)}: ${report.rows} requests.`,
      });
      return {
        summary: report.summary,
        fileNote: `The CSV (${report.rows} rows) is in your direct messages with the app.`,
      };
    } catch (error) {
      deps.log.warn({ err: error }, 'Slack report upload failed');
      const code =
        error instanceof WebAPIPlatformError
          ? error.data.error
          : error instanceof Error
            ? error.message
            : String(error);
      return {
        summary: report.summary,
        fileNote: `The CSV could not be uploaded (${code}). The app needs the im:write and files:write scopes; \`countersign audit report\` gives the same file.`,
      };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function handleReport(
  deps: ReportCommandDeps,
  client: WebClient,
  respond: RespondFn,
  command: SlashCommand,
  parsed: Extract<ReportCommandText, { kind: 'report' }>,
): Promise<void> {
  const reply = (message: { text: string; blocks?: object[] }) =>
    respond({ response_type: 'ephemeral', replace_original: false, ...message });
  const origin: ChatOrigin = { platform: 'slack', userId: command.user_id, channelId: command.channel_id };
  const who = await deps.identity.resolve(command.user_id);
  const auditors = (deps.policy.groups[AUDITORS_GROUP] ?? []).map((e) => e.toLowerCase());
  if (!who.email || !auditors.includes(who.email)) {
    const reason = who.email ? 'not_auditor' : 'identity_unresolved';
    await recordRefusal(deps, {
      actor: who.email ?? `slack:${command.user_id}`,
      reason,
      origin,
      text: command.text,
    });
    deps.log.info({ userId: command.user_id, reason }, 'Slack report refused');
    await reply({ text: REPORT_REFUSALS[reason] });
    return;
  }
  let period: ReportPeriod;
  try {
    period = parseReportPeriod({ from: parsed.from, to: parsed.to }, deps.clock.now());
  } catch (error) {
    if (!(error instanceof ReportPeriodError)) throw error;
    await reply({ text: `${error.message}.\n${REPORT_USAGE}` });
    return;
  }
  const { summary, fileNote } = await runReport(deps, client, { period, email: who.email, origin });
  await reply(reportSummaryMessage(period, summary, fileNote));
}

export function registerReportCommand(app: App, deps: ReportCommandDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    const parsed = parseCommandText(command.text);
    if (parsed.kind !== 'report') {
      const text = parsed.kind === 'help' ? REPORT_USAGE : `${parsed.message}\n${REPORT_USAGE}`;
      await ack({ response_type: 'ephemeral', text });
      return;
    }
    // Slack wants the answer within 3 s: acknowledge now, answer through the response_url.
    await ack();
    try {
      await handleReport(deps, client, respond, command, parsed);
    } catch (error) {
      // The database or Slack failed after the acknowledgement: say so rather than stay silent.
      deps.log.error({ err: error, userId: command.user_id }, 'Slack report command failed');
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: 'The report could not be produced; the server log has the details.',
      }).catch(() => undefined);
    }
  });
}
