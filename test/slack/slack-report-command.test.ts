// /countersign report from Slack: an auditor (policy group `auditors`) gets the summary privately
// through the response_url and the CSV uploaded with files.uploadV2 into a DM with the app; anyone
// else is refused privately and the attempt is audited; bad periods and unknown words get usage.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatApiCalls, expectedSlackCounts, waitForCallCounts } from '../support/chat-api-call-counts.ts';
import { withPgClient, type Approval } from '../support/api-fixtures.ts';
import { pollUntil } from '../support/poll.ts';
import type { FakeSlackResponsePost, SlackBlock } from '../support/fake-slack.ts';
import {
  APPROVE,
  CHANNEL,
  TEAM_POLICY_YAML,
  blockText,
  startSlackHarness,
  type SlackHarness,
} from '../support/slack-harness.ts';

const POLICY = TEAM_POLICY_YAML.replace(
  'groups:\n',
  'groups:\n  auditors: [erin@example.com, Alice@Example.com]\n',
);

interface Event {
  seq: string;
  type: string;
  actor: string;
  payload: Record<string, unknown>;
}

interface ResponseBody {
  response_type?: string;
  replace_original?: boolean;
  text?: string;
  blocks?: SlackBlock[];
}

describe('Slack /countersign report', () => {
  let h: SlackHarness;
  let created: Approval[];

  const events = (afterSeq = '0') =>
    withPgClient(h.t.database.url, async (client) => {
      const { rows } = await client.query<Event>(
        `SELECT seq::text AS seq, type, actor, payload FROM audit_events
          WHERE seq > $1::bigint AND request_id IS NULL ORDER BY audit_events.seq`,
        [afterSeq],
      );
      return rows;
    });
  const lastSeq = () =>
    withPgClient(h.t.database.url, async (client) => {
      const { rows } = await client.query<{ seq: string }>(
        'SELECT coalesce(max(seq), 0)::text AS seq FROM audit_events',
      );
      return rows[0]?.seq ?? '0';
    });

  /** Sends the command signed as Slack does and waits for the answer posted to its response_url. */
  async function command(userId: string, text: string): Promise<ResponseBody> {
    const before = h.fake.responses().length;
    const sent = await h.driver.send(
      h.driver.slashCommand({ userId, channelId: CHANNEL, command: '/countersign', text }),
    );
    expect(sent.status).toBe(200);
    expect(sent.text).toBe('');
    const posted = (await h.fake.waitForResponses(before + 1)).at(-1) as FakeSlackResponsePost;
    return posted.body as ResponseBody;
  }

  beforeAll(async () => {
    h = await startSlackHarness({ policyYaml: POLICY });
    const approved = await h.create({ action: 'db.export', title: 'Export invoices' });
    const cancelled = await h.create({ action: 'db.export', title: '=cmd|calc' });
    const pending = await h.create({ action: 'iam.grant', title: 'Grant admin' });
    created = [approved, cancelled, pending];
    const approvedCard = await h.waitForCard(approved.id);
    await h.click('U0ERIN', approvedCard, APPROVE); // auditors decide nothing: refused, not_eligible
    await h.waitForRefusals(approved.id, 1);
    await h.click('U0BOB', approvedCard, APPROVE);
    await h.waitForStatus(approved.id, 'approved');
    const cancel = await h.t.call('POST', `/v1/approvals/${cancelled.id}/cancel`, { key: h.key, body: {} });
    expect(cancel.status).toBe(200);
    // The verdict and the cancel update their cards through the flush loop: let it settle, so the
    // test's window of counted Slack calls holds only the command's own.
    for (const request of created) {
      await pollUntil(
        () => h.cardRow(request.id),
        (row) => row !== undefined && row.messageId !== null && row.shownVersion === row.version,
        { what: `the card of ${request.id} shown at its latest version` },
      );
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives an auditor the summary privately and the CSV in a direct message, and audits the run', async () => {
    const from = await lastSeq();
    const countsBefore = await chatApiCalls(h.t.url);
    const callsFrom = h.fake.calls().length;
    const body = await command('U0ERIN', 'report 7d');
    expect(body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(body.text).toMatch(/^Countersign audit report, .+: 3 requests; audit chain intact$/);
    const shown = blockText(body.blocks);
    expect(shown).toContain('*Audit chain intact*');
    expect(shown).toContain('*Requests:* 3 (pending 1, approved 1, denied 0, expired 0, cancelled 1)');
    expect(shown).toContain('*Decisions:* approve 1, deny 0, auto-approved by policy 0');
    expect(shown).toContain('*Refused attempts:* not_eligible 1');
    expect(shown).toContain('*Expiries:* 0');
    expect(shown).toContain('*Top actions:* `db.export` 2, `iam.grant` 1');
    expect(shown).toContain('The CSV (3 rows) is in your direct messages with the app.');

    const dm = h.fake.dmChannel('U0ERIN');
    expect(dm).toMatch(/^D/);
    const [file, ...others] = h.fake.files();
    expect(others).toEqual([]);
    expect(file).toMatchObject({ completed: true, channelId: dm });
    expect(file?.filename).toMatch(/^countersign-report-.+\.csv$/);
    expect(file?.bytes?.length).toBe(file?.length);
    const rows = parse<Record<string, string>>(file?.bytes?.toString('utf8') ?? '', {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    expect(rows.map((r) => r['id'])).toEqual(created.map((c) => c.id));
    expect(rows.map((r) => r['status'])).toEqual(['approved', 'cancelled', 'pending']);
    expect(rows[1]?.['title']).toBe("'=cmd|calc");
    expect(h.fake.messages(dm ?? '').at(-1)?.files).toHaveLength(1);

    // Each Slack call of the command is counted (Erin's users.info is cached from the click above);
    // files.uploadV2 counts once for the SDK's upload steps, whose Web API calls all answered ok.
    const least = {
      'slack conversations.open ok': 1,
      'slack files.uploadV2 ok': 1,
      'slack response_url ok': 1,
    };
    const counted = await waitForCallCounts(h.t.url, countsBefore, least);
    expect(counted).toEqual({ ...least, ...expectedSlackCounts(h.fake, callsFrom, ['users.info']) });
    const uploadSteps = ['files.getUploadURLExternal', 'files.completeUploadExternal'];
    expect(h.fake.calls().filter((c) => c.seq >= callsFrom && uploadSteps.includes(c.method))).toMatchObject(
      uploadSteps.map((method) => ({ method, ok: true })),
    );
    expect(h.fake.calls('conversations.open').filter((c) => c.seq >= callsFrom)).toHaveLength(1);

    expect(await events(from)).toMatchObject([
      {
        type: 'report.generated',
        actor: 'erin@example.com',
        payload: {
          format: 'csv',
          rows: 3,
          chainIntact: true,
          origin: { platform: 'slack', userId: 'U0ERIN', channelId: CHANNEL },
        },
      },
    ]);
  });

  it('takes a <from>..<to> period, and group membership ignores the case of emails', async () => {
    h.fake.reset();
    const from = await lastSeq();
    const body = await command('U0ALICE', 'report 2030-01-01..2030-01-31');
    expect(body.text).toMatch(/: 0 requests; audit chain intact$/);
    expect(h.fake.files()).toHaveLength(1);
    expect(await events(from)).toMatchObject([
      {
        type: 'report.generated',
        actor: 'alice@example.com',
        payload: { from: '2030-01-01T00:00:00.000Z', to: '2030-02-01T00:00:00.000Z', rows: 0 },
      },
    ]);
  });

  it('refuses everyone outside the auditors group privately, and audits each attempt', async () => {
    h.fake.reset();
    const from = await lastSeq();
    const bob = await command('U0BOB', 'report 30d');
    expect(bob).toMatchObject({ response_type: 'ephemeral' });
    expect(bob.text).toContain('Only members of the policy group `auditors`');
    const nomail = await command('U0NOMAIL', 'report');
    expect(nomail.text).toContain('could not read an email address');

    expect(h.fake.files()).toEqual([]);
    expect(h.fake.calls('conversations.open')).toEqual([]);
    expect(await events(from)).toMatchObject([
      {
        type: 'report.refused',
        actor: 'bob@example.com',
        payload: {
          reason: 'not_auditor',
          text: 'report 30d',
          origin: { userId: 'U0BOB', channelId: CHANNEL },
        },
      },
      {
        type: 'report.refused',
        actor: 'slack:U0NOMAIL',
        payload: { reason: 'identity_unresolved', text: 'report', origin: { userId: 'U0NOMAIL' } },
      },
    ]);
  });

  it('answers a bad period with its reason and usage, and runs nothing', async () => {
    h.fake.reset();
    const from = await lastSeq();
    const empty = await command('U0ERIN', 'report 2030-02-01..2030-01-01');
    expect(empty.text).toContain('the period is empty');
    expect(empty.text).toContain('Usage: `/countersign report');
    const word = await command('U0ERIN', 'report soon');
    expect(word.text).toContain('expected an ISO date');
    expect(h.fake.files()).toEqual([]);
    expect(await events(from)).toEqual([]);
  });

  it('answers help and unknown words in the acknowledgement itself', async () => {
    h.fake.reset();
    const help = await h.driver.send<ResponseBody>(
      h.driver.slashCommand({ userId: 'U0BOB', channelId: CHANNEL, command: '/countersign', text: '' }),
    );
    expect(help.status).toBe(200);
    expect(help.body).toMatchObject({ response_type: 'ephemeral' });
    expect(help.body.text).toContain('Usage: `/countersign report [7d|30d|<from>..<to>]`');
    const unknown = await h.driver.send<ResponseBody>(
      h.driver.slashCommand({
        userId: 'U0BOB',
        channelId: CHANNEL,
        command: '/countersign',
        text: 'approve all',
      }),
    );
    expect(unknown.body.text).toContain('Unknown command `approve`.');
    expect(h.fake.responses()).toEqual([]);
  });

  it('still gives the summary when the upload fails, saying why', async () => {
    h.fake.reset();
    h.fake.failNext('files.completeUploadExternal', { error: 'not_in_channel' });
    const body = await command('U0ERIN', 'report 1d');
    expect(body.text).toContain('3 requests');
    expect(blockText(body.blocks)).toContain('The CSV could not be uploaded (not_in_channel)');
  });

  it('tells the auditor when the report fails after the acknowledgement', async () => {
    h.fake.reset();
    const sql = (text: string) => withPgClient(h.t.database.url, (client) => client.query(text));
    await sql('ALTER TABLE audit_chain_head RENAME TO audit_chain_head_away');
    try {
      const body = await command('U0ERIN', 'report 1d');
      expect(body).toMatchObject({
        response_type: 'ephemeral',
        text: 'The report could not be produced; the server log has the details.',
      });
      expect(h.fake.files()).toEqual([]);
    } finally {
      await sql('ALTER TABLE audit_chain_head_away RENAME TO audit_chain_head');
    }
  });

  it('refuses a command whose signature does not verify, and records nothing', async () => {
    const from = await lastSeq();
    const sent = await h.driver.send(
      h.driver.slashCommand({
        userId: 'U0ERIN',
        channelId: CHANNEL,
        command: '/countersign',
        text: 'report',
      }),
      { corruptSignature: true },
    );
    expect(sent.status).toBe(401);
    expect(await events(from)).toEqual([]);
  });
});
