// The web console's approve form offers a time-bound grant where the request's rule allows one
// (grant: { upTo }), and the choice opens the grant; a request under another rule offers none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { createCookieAgent, csrfTokenOf, type CookieAgent } from '../support/cookie-agent.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const POLICY = `rules:
  - { name: tools, actions: ["mcp.*"], approvers: [bob@example.com], grant: { upTo: 30m } }
  - { name: everything, actions: ["*"], approvers: [bob@example.com] }
`;

let t: TestServer;
let key: string;

async function devSignIn(email: string): Promise<CookieAgent> {
  const agent = createCookieAgent();
  const page = await agent.request('GET', `${t.url}/signin`);
  await agent.request('POST', `${t.url}/auth/dev`, { email, _csrf: csrfTokenOf(page.text) });
  return agent;
}

beforeAll(async () => {
  t = await startTestServer({ policyYaml: POLICY, env: { COUNTERSIGN_DEV_SIGNIN: 'true' } });
  key = (await t.createKey()).key;
});
afterAll(async () => {
  await t?.close();
});

describe('web console grant choice', () => {
  it('offers the windows the rule allows and opens the grant chosen', async () => {
    const request = await createApproval(t, key, { action: 'mcp.files.write', agent: { name: 'bot' } });
    const bob = await devSignIn('bob@example.com');
    const page = await bob.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.text).toContain('<option value="">this call only</option>');
    expect(page.text).toContain('<option value="15">this tool for this agent for 15 minutes</option>');
    expect(page.text).toContain('<option value="30">this tool for this agent for 30 minutes</option>');
    const approved = await bob.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      grant: '30',
      _csrf: csrfTokenOf(page.text),
    });
    expect(approved.status).toBe(303);
    const grants = await withPgClient(
      t.database.url,
      async (c) =>
        (
          await c.query<{ minutes: number; agent_name: string }>(
            'SELECT minutes, agent_name FROM grants WHERE request_id = $1',
            [request.id],
          )
        ).rows,
    );
    expect(grants).toEqual([{ minutes: 30, agent_name: 'bot' }]);
  });

  it('offers no window under a rule without grant:, and refuses one sent anyway', async () => {
    const request = await createApproval(t, key, { action: 'db.export' });
    const bob = await devSignIn('bob@example.com');
    const page = await bob.request('GET', `${t.url}/requests/${request.id}`);
    expect(page.text).not.toContain('this call only');
    await bob.request('POST', `${t.url}/requests/${request.id}/approve`, {
      confirm: 'yes',
      grant: '10',
      _csrf: csrfTokenOf(page.text),
    });
    const after = await bob.request('GET', `${t.url}/requests/${request.id}`);
    expect(after.text).toContain('Not recorded: this request');
    expect(after.text).toContain('id="status">pending');
  });
});
