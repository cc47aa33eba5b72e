// Workload identity (issue 21, item 1): a Countersign-Identity-Token from the caller's CI proves the
// requester. Local issuers on 127.0.0.1 serve discovery and JWKS and mint GitHub- and GitLab-shaped
// tokens with keys made by jose; the server verifies them exactly as it would GitHub's. Every bad
// token gets a precise 401 and stores nothing but the audited refusal.
import { createHash } from 'node:crypto';
import { importJWK, exportSPKI, SignJWT, type KeyObject } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../apps/server/src/errors.ts';
import { createApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import {
  expectProblem,
  snapshotData,
  withPgClient,
  type Approval,
  type DataSnapshot,
} from '../support/api-fixtures.ts';
import { writeTempPolicy, type TempPolicyFile } from '../support/policy-files.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';
import {
  githubClaims,
  gitlabClaims,
  startTestOidcIssuer,
  type TestOidcIssuer,
} from '../support/test-oidc-issuer.ts';

/** Written here on purpose, not imported: the digest must be reproducible by an outsider. */
function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeysDeep((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
const sha256Digest = (value: unknown) =>
  'sha256:' +
  createHash('sha256')
    .update(JSON.stringify(sortKeysDeep(value)))
    .digest('hex');

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function withoutSeq(snapshot: DataSnapshot): Omit<DataSnapshot, 'lastAuditSeq'> {
  const { lastAuditSeq: _seq, ...rest } = snapshot;
  return rest;
}

describe('workload identity tokens prove the requester', () => {
  let github: TestOidcIssuer;
  let gitlab: TestOidcIssuer;
  let policyFile: TempPolicyFile;
  let t: TestServer;
  let key: string;

  beforeAll(async () => {
    [github, gitlab] = await Promise.all([startTestOidcIssuer(), startTestOidcIssuer()]);
    policyFile = await writeTempPolicy(`groups:
  ops: [alice@example.com, bob@example.com, carol@example.com]
rules:
  - { name: prod, actions: ["prod.*"], approvers: [group:ops], requester: proven }
  - { name: rest, actions: ["*"], approvers: [group:ops] }
identity:
  issuers:
    - issuer: ${github.issuer}
      audience: https://countersign.example.com
      name: github-actions
      preset: github-actions
      map: { octo-alice: alice@example.com }
    - issuer: ${gitlab.issuer}
      audience: countersign
      preset: gitlab-ci
`);
    t = await startTestServer({ env: { COUNTERSIGN_POLICY: policyFile.path } });
    ({ key } = await createApiKey(t.server.db, { name: 'ci-pipeline' }));
  });
  afterAll(async () => {
    await t?.close();
    await policyFile?.remove();
    await github?.close();
    await gitlab?.close();
  });

  const post = (token: string, body: Record<string, unknown> = {}) =>
    t.call<Approval>('POST', '/v1/approvals', {
      key,
      headers: { 'countersign-identity-token': token },
      body: { action: 'deploy.web', context: { ref: 'main' }, ...body },
    });

  const githubToken = (actor = 'octo-alice', options: Parameters<TestOidcIssuer['mint']>[1] = {}) =>
    github.mint(githubClaims(actor), { audience: 'https://countersign.example.com', ...options });

  const stored = (id: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{
        requester_email: string;
        requester_proof: unknown;
        payload_digest: string;
      }>('SELECT requester_email, requester_proof, payload_digest FROM approval_requests WHERE id = $1', [
        id,
      ]);
      return rows[0];
    });

  const createdEvent = (id: string) =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ payload: Record<string, unknown> }>(
        `SELECT payload FROM audit_events WHERE type = 'request.created' AND request_id = $1`,
        [id],
      );
      return rows[0]?.payload;
    });

  const lastRefusal = () =>
    withPgClient(t.database.url, async (client) => {
      const { rows } = await client.query<{ payload: Record<string, unknown> }>(
        `SELECT payload FROM audit_events WHERE type = 'request.refused' ORDER BY seq DESC LIMIT 1`,
      );
      return rows[0]?.payload;
    });

  it('a GitHub Actions token: the mapped login is the requester; repository, workflow and run are proven and digested', async () => {
    const response = await post(await githubToken());
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const proof = {
      kind: 'workload',
      provider: 'github-actions',
      issuer: github.issuer,
      subject: 'repo:acme/api:ref:refs/heads/main',
      login: 'octo-alice',
      repository: 'acme/api',
      workflow: 'acme/api/.github/workflows/deploy.yml@refs/heads/main',
      runId: '123',
      keyName: 'ci-pipeline',
    };
    const digest = sha256Digest({
      action: 'deploy.web',
      context: { ref: 'main' },
      identity: {
        requester: 'alice@example.com',
        issuer: github.issuer,
        subject: 'repo:acme/api:ref:refs/heads/main',
        repository: 'acme/api',
        workflow: 'acme/api/.github/workflows/deploy.yml@refs/heads/main',
        runId: '123',
      },
    });
    expect(digest).not.toBe(sha256Digest({ action: 'deploy.web', context: { ref: 'main' } }));
    expect(await stored(response.body.id)).toEqual({
      requester_email: 'alice@example.com',
      requester_proof: proof,
      payload_digest: digest,
    });
    expect(response.body.payloadDigest).toBe(digest);
    expect(await createdEvent(response.body.id)).toMatchObject({
      requester: 'alice@example.com',
      requesterProof: proof,
      payloadDigest: digest,
    });
  });

  it('a GitLab CI token: user_email is the requester; project and pipeline are proven', async () => {
    const token = await gitlab.mint(gitlabClaims('Carol@Example.com'), { audience: 'countersign' });
    const response = await post(token);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(await stored(response.body.id)).toMatchObject({
      requester_email: 'carol@example.com',
      requester_proof: {
        kind: 'workload',
        provider: 'gitlab-ci',
        issuer: gitlab.issuer,
        login: 'Carol',
        repository: 'acme/api',
        runId: '456',
        keyName: 'ci-pipeline',
      },
    });
  });

  it('a token with the same requester named is fine; a rule wanting a proven requester takes it', async () => {
    const same = await post(await githubToken(), { requester: { email: 'ALICE@example.com' } });
    expect(same.status, JSON.stringify(same.body)).toBe(201);
    const proven = await post(await githubToken(), { action: 'prod.restart' });
    expect(proven.status, JSON.stringify(proven.body)).toBe(201);
  });

  it('a token with a different requester named: 422 REQUESTER_MISMATCH, nothing stored', async () => {
    const before = await snapshotData(t);
    expectProblem(
      await post(await githubToken(), { requester: { email: 'bob@example.com' } }),
      'REQUESTER_MISMATCH',
      ['/requester/email'],
    );
    expect(withoutSeq(await snapshotData(t))).toEqual({
      ...withoutSeq(before),
      auditEvents: before.auditEvents + 1,
    });
    expect(await lastRefusal()).toMatchObject({ code: 'REQUESTER_MISMATCH', requester: 'bob@example.com' });
  });

  it('an unmapped GitHub login is refused (403 IDENTITY_UNMAPPED), never guessed', async () => {
    const before = await snapshotData(t);
    const problem = expectProblem(await post(await githubToken('octo-mallory')), 'IDENTITY_UNMAPPED');
    expect(problem.detail).toContain('octo-mallory');
    expect(withoutSeq(await snapshotData(t))).toEqual({
      ...withoutSeq(before),
      auditEvents: before.auditEvents + 1,
    });
  });

  const badTokens: { name: string; code: ErrorCode; token: () => Promise<string> }[] = [
    { name: 'not a JWT', code: 'IDENTITY_TOKEN_INVALID', token: () => Promise.resolve('not-a-token') },
    {
      name: 'signed with another key under the published kid',
      code: 'IDENTITY_TOKEN_INVALID',
      token: () => githubToken('octo-alice', { foreignKey: true }),
    },
    {
      name: 'an unknown kid',
      code: 'IDENTITY_TOKEN_INVALID',
      token: () => githubToken('octo-alice', { foreignKey: true, kid: 'rotated-away' }),
    },
    {
      name: 'the wrong audience',
      code: 'IDENTITY_AUDIENCE_MISMATCH',
      token: () => githubToken('octo-alice', { audience: 'https://github.com/acme' }),
    },
    {
      name: 'expired beyond the skew',
      code: 'IDENTITY_TOKEN_EXPIRED',
      token: () => githubToken('octo-alice', { expiresIn: -120 }),
    },
    {
      name: 'not valid yet beyond the skew',
      code: 'IDENTITY_TOKEN_EXPIRED',
      token: () => githubToken('octo-alice', { notBefore: 600 }),
    },
    {
      name: 'an issuer the policy does not list',
      code: 'IDENTITY_ISSUER_UNKNOWN',
      token: () => githubToken('octo-alice', { issuer: 'https://token.actions.githubusercontent.com' }),
    },
    {
      name: 'alg none',
      code: 'IDENTITY_TOKEN_INVALID',
      token: () => {
        const now = Math.floor(Date.now() / 1000);
        const claims = {
          ...githubClaims('octo-alice'),
          iss: github.issuer,
          aud: 'https://countersign.example.com',
          iat: now,
          exp: now + 300,
        };
        return Promise.resolve(`${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`);
      },
    },
    {
      name: 'HS256 signed with the public key as the HMAC secret',
      code: 'IDENTITY_TOKEN_INVALID',
      token: async () => {
        const pem = await exportSPKI((await importJWK(github.publicJwk, 'RS256')) as KeyObject);
        return new SignJWT(githubClaims('octo-alice'))
          .setProtectedHeader({ alg: 'HS256', kid: github.publicJwk.kid ?? '' })
          .setIssuer(github.issuer)
          .setAudience('https://countersign.example.com')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(pem));
      },
    },
  ];

  it.each(badTokens)('$name → $code, nothing stored, refusal audited', async ({ code, token }) => {
    const before = await snapshotData(t);
    const response = await post(await token());
    expectProblem(response, code, ['/headers/countersign-identity-token']);
    expect(withoutSeq(await snapshotData(t))).toEqual({
      ...withoutSeq(before),
      auditEvents: before.auditEvents + 1,
    });
    expect(await lastRefusal()).toMatchObject({ code, keyName: 'ci-pipeline', action: 'deploy.web' });
  });

  it('a rule wanting a proven requester refuses the same request without a token', async () => {
    const response = await t.call('POST', '/v1/approvals', {
      key,
      body: { action: 'prod.restart', requester: { email: 'alice@example.com' } },
    });
    expectProblem(response, 'REQUESTER_NOT_PROVEN', ['/requester']);
  });
});
