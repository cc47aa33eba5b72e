// The OIDC `groups` claim at console sign-in, through the real oidc-provider: the groups it
// carries are kept with the time they were seen and make the person eligible for `idp:` approver
// entries; for a person SCIM provisions, SCIM's memberships alone count (SCIM wins).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordDecision } from '../../apps/server/src/approvals/record-decision.ts';
import { createDatabase, type Database } from '../../apps/server/src/db/client.ts';
import { systemClock } from '../../apps/server/src/deps.ts';
import { isAppError } from '../../apps/server/src/errors.ts';
import { createApproval, withPgClient } from '../support/api-fixtures.ts';
import { freePort } from '../support/cli.ts';
import { createCookieAgent } from '../support/cookie-agent.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestIdp, type TestIdp } from '../support/test-idp.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import { testDeps } from '../support/use-case-fixtures.ts';

const POLICY = `rules:
  - name: exports
    actions: ["db.export"]
    approvers: ["idp:Data Owners"]
`;

let idp: TestIdp;
let t: TestServer;
let db: Database;
let file: TempPolicyFile;
let key: string;

async function signIn(account: string): Promise<void> {
  const agent = createCookieAgent();
  idp.signInAs(account);
  const atProvider = await agent.follow(`${t.url}/auth/login`, (location) =>
    location.startsWith(`${t.url}/auth/callback`),
  );
  const back = await agent.request('GET', atProvider.location as string);
  expect(back.status, back.text).toBe(303);
}

const approve = (requestId: string, email: string) =>
  recordDecision(testDeps(db, { clock: systemClock }), {
    requestId,
    verdict: 'approve',
    approver: { email, platform: 'web' },
  });

const claimOf = (email: string) =>
  withPgClient(t.database.url, async (client) => {
    const { rows } = await client.query<{ groups: string[]; seen_at: Date }>(
      'SELECT groups, seen_at FROM oidc_group_claims WHERE email = $1',
      [email],
    );
    return rows[0];
  });

beforeAll(async () => {
  idp = await startTestIdp({
    olga: { email: 'olga@example.com', emailVerified: true, groups: ['Data Owners', 'Staff'] },
    sam: { email: 'sam@example.com', emailVerified: true, groups: ['data owners'] },
    ned: { email: 'ned@example.com', emailVerified: true, groups: ['Staff'] },
  });
  file = await writeTempPolicy(POLICY);
  const port = await freePort();
  t = await startTestServer({
    env: {
      ...idp.env,
      PORT: String(port),
      COUNTERSIGN_PUBLIC_URL: `http://127.0.0.1:${port}`,
      COUNTERSIGN_POLICY: file.path,
    },
  });
  idp.configure(`${t.url}/auth/callback`);
  db = createDatabase(t.database.url);
  key = (await t.createKey('writer')).key;
});

afterAll(async () => {
  await db?.close();
  await t?.close();
  await idp?.close();
  await file?.remove();
});

describe('the OIDC groups claim at console sign-in', () => {
  it('keeps the claim with its time, and it makes the person an approver for idp: groups', async () => {
    const request = await createApproval(t, key, { action: 'db.export', context: {} });
    await expect(approve(request.id, 'olga@example.com')).rejects.toSatisfy(
      (e) => isAppError(e) && e.code === 'NOT_ELIGIBLE',
    );
    const before = Date.now();
    await signIn('olga');
    const claim = await claimOf('olga@example.com');
    expect(claim?.groups).toEqual(['Data Owners', 'Staff']);
    expect(claim?.seen_at.getTime()).toBeGreaterThanOrEqual(before - 1000);

    const decided = await approve(request.id, 'olga@example.com');
    expect(decided.request.status).toBe('approved');
    const eligibleThrough = await withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ via: string }>(
        `SELECT payload->>'eligibleThrough' AS via FROM audit_events WHERE type = 'decision.recorded' AND request_id = $1`,
        [request.id],
      );
      return rows[0]?.via;
    });
    expect(eligibleThrough).toBe('idp:Data Owners');
  });

  it('a claim without the group does not make the person eligible', async () => {
    const request = await createApproval(t, key, { action: 'db.export', context: {} });
    await signIn('ned');
    await expect(approve(request.id, 'ned@example.com')).rejects.toSatisfy(
      (e) => isAppError(e) && e.code === 'NOT_ELIGIBLE',
    );
  });

  it('SCIM wins: a person SCIM provisions counts by SCIM memberships only, whatever the claim says', async () => {
    await withPgClient(t.database.url, (client) =>
      client.query(
        `INSERT INTO directory_users (id, user_name, user_name_key, email, active) VALUES ($1, $2, $2, $2, true)`,
        [randomUUID(), 'sam@example.com'],
      ),
    );
    await signIn('sam');
    expect((await claimOf('sam@example.com'))?.groups).toEqual(['data owners']);
    const request = await createApproval(t, key, { action: 'db.export', context: {} });
    await expect(approve(request.id, 'sam@example.com')).rejects.toSatisfy(
      (e) => isAppError(e) && e.code === 'NOT_ELIGIBLE',
    );
  });
});
