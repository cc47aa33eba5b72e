// The console's auditor check is the one chat uses: a signed-in user outside the policy group
// `auditors` who opens Audit or asks for the report is refused, and each attempt is a
// `report.refused` event in the audit trail, as `/countersign report` in Slack or Teams records it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPgClient } from '../support/api-fixtures.ts';
import { devSignIn, type CookieAgent } from '../support/cookie-agent.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `groups:
  reviewers: [bob@example.com]
  auditors: [audrey@example.com]
rules:
  - name: everything
    actions: ["*"]
    approvers: [group:reviewers]
`;

interface AuditRow {
  type: string;
  actor: string;
  payload: Record<string, unknown>;
}

let t: TestServer;

const signIn = (email: string): Promise<CookieAgent> => devSignIn(t.url, email);

const eventsAfter = (seq: string) =>
  withPgClient(t.database.url, async (client) => {
    const { rows } = await client.query<AuditRow>(
      `SELECT type, actor, payload FROM audit_events WHERE seq > $1 AND type LIKE 'report.%' ORDER BY seq`,
      [seq],
    );
    return rows;
  });

const lastSeq = () =>
  withPgClient(t.database.url, async (client) => {
    const { rows } = await client.query<{ seq: string }>(
      'SELECT coalesce(max(seq), 0)::text AS seq FROM audit_events',
    );
    return rows[0]?.seq ?? '0';
  });

beforeAll(async () => {
  t = await startTestServer({ policyYaml: POLICY, env: { COUNTERSIGN_DEV_SIGNIN: 'true' } });
});

afterAll(async () => {
  await t?.close();
});

describe('the Audit page for someone outside the auditors group', () => {
  it('refuses the page and the report, and records each attempt as report.refused', async () => {
    const reviewer = await signIn('bob@example.com');
    const from = await lastSeq();
    const page = await reviewer.request('GET', `${t.url}/audit?from=7d`);
    expect(page.status).toBe(403);
    expect(page.text).toContain('data-code="NOT_AUDITOR"');
    const report = await reviewer.request('GET', `${t.url}/audit/report?format=csv`);
    expect(report.status).toBe(403);
    expect(await eventsAfter(from)).toEqual([
      {
        type: 'report.refused',
        actor: 'web:bob@example.com',
        payload: { reason: 'not_auditor', origin: { platform: 'web' }, text: 'GET /audit?from=7d' },
      },
      {
        type: 'report.refused',
        actor: 'web:bob@example.com',
        payload: { reason: 'not_auditor', origin: { platform: 'web' }, text: 'GET /audit/report?format=csv' },
      },
    ]);
  });

  it('records nothing for an auditor, whose report is a report.generated run as before', async () => {
    const auditor = await signIn('audrey@example.com');
    const from = await lastSeq();
    expect((await auditor.request('GET', `${t.url}/audit`)).status).toBe(200);
    expect((await auditor.request('GET', `${t.url}/audit/report?format=csv`)).status).toBe(200);
    expect(await eventsAfter(from)).toMatchObject([
      { type: 'report.generated', actor: 'web:audrey@example.com' },
    ]);
  });
});
