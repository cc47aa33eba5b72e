// `countersign audit evidence --period … --out pack.zip`: one zip with the period's report in md,
// csv and json, the chain verification, the latest signed checkpoint, the policy history, the
// directory changes and the admin actions, and manifest.json with the SHA-256 of each of them,
// signed (manifest.jws) with the receipt key. The test unzips it, checks every hash, and verifies
// the manifest's signature with the public key the server publishes.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EVIDENCE_MANIFEST_TYPE } from '../../apps/server/src/receipts/sign-receipt.ts';
import { createApproval } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, killRunningClis, runCli } from '../support/cli.ts';
import { decide } from '../support/delivery-fixtures.ts';
import { createTestDatabase, usingRealPostgres, type TestDatabase } from '../support/test-database.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

const receiptKey = generateKeyPairSync('ed25519')
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

const PACK_FILES = [
  'admin-actions.json',
  'chain-verification.json',
  'checkpoint.json',
  'directory-changes.json',
  'jwks.json',
  'manifest.json',
  'manifest.jws',
  'policy-history.json',
  'report.csv',
  'report.json',
  'report.md',
];

/** The quarter now is in, as `--period` takes it. */
function currentQuarter(now = new Date()): string {
  return `${now.getUTCFullYear()}-Q${Math.floor(now.getUTCMonth() / 3) + 1}`;
}

interface Manifest {
  format: string;
  period: { name: string; from: string; to: string };
  chainIntact: boolean;
  kid: string;
  files: { name: string; bytes: number; sha256: string }[];
}

/** Every problem of a pack's files against its manifest: a listed file missing or changed, or one not listed. */
function hashProblems(files: Record<string, Uint8Array>, manifest: Manifest): string[] {
  const problems: string[] = [];
  for (const listed of manifest.files) {
    const bytes = files[listed.name];
    if (!bytes) problems.push(`${listed.name}: missing`);
    else if (createHash('sha256').update(bytes).digest('hex') !== listed.sha256)
      problems.push(`${listed.name}: changed`);
    else if (bytes.length !== listed.bytes) problems.push(`${listed.name}: length`);
  }
  const named = new Set(manifest.files.map((f) => f.name));
  for (const name of Object.keys(files)) {
    if (!named.has(name) && name !== 'manifest.json' && name !== 'manifest.jws')
      problems.push(`${name}: not listed`);
  }
  return problems;
}

afterEach(async () => {
  await killRunningClis();
});

describe.skipIf(!usingRealPostgres)(
  'audit evidence: the evidence pack (real Postgres)',
  { timeout: 180_000 },
  () => {
    let database: TestDatabase;
    let t: TestServer;
    let dir: string;
    let env: NodeJS.ProcessEnv;
    let approvalId: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'countersign-evidence-'));
      database = await createTestDatabase();
      t = await startTestServer({ database, env: { COUNTERSIGN_RECEIPT_KEY: receiptKey } });
      const { key } = await t.createKey('evidence');
      approvalId = (await createApproval(t, key)).id;
      expect((await decide(t.server.db, approvalId, 'approve')).verdict).toBe('approved');
      env = cliEnv({ DATABASE_URL: database.url, COUNTERSIGN_RECEIPT_KEY: receiptKey });
      const checkpoint = await runCli(['audit', 'checkpoint'], env);
      expect(checkpoint.code, describeRun(checkpoint)).toBe(0);
    });
    afterAll(async () => {
      await t?.close();
      await database?.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('writes every part, each hash in the manifest checks out, and the manifest verifies with the published key', async () => {
      const out = join(dir, 'pack.zip');
      const period = currentQuarter();
      const result = await runCli(['audit', 'evidence', '--period', period, '--out', out], env);
      expect(result.code, describeRun(result)).toBe(0);
      expect(result.stderr).toMatch(
        new RegExp(`evidence ${period}: 11 files in .*pack\\.zip, chain intact, manifest signed by `),
      );

      const files = unzipSync(new Uint8Array(await readFile(out)));
      expect(Object.keys(files).sort()).toEqual(PACK_FILES);
      const text = (name: string) => strFromU8(files[name] ?? new Uint8Array());
      const manifest = JSON.parse(text('manifest.json')) as Manifest;
      expect(manifest).toMatchObject({
        format: 'countersign-evidence/1',
        period: { name: period },
        chainIntact: true,
      });
      expect(manifest.files.map((f) => f.name).sort()).toEqual(
        PACK_FILES.filter((f) => !f.startsWith('manifest.')),
      );
      expect(hashProblems(files, manifest)).toEqual([]);

      // The signature: a compact JWS whose payload is manifest.json byte for byte, by the key
      // GET /v1/keys/receipt publishes (and jwks.json carries).
      const published = (await t.call<JSONWebKeySet>('GET', '/v1/keys/receipt')).body;
      const verified = await compactVerify(text('manifest.jws').trim(), createLocalJWKSet(published));
      expect(verified.protectedHeader).toMatchObject({
        alg: 'EdDSA',
        typ: EVIDENCE_MANIFEST_TYPE,
        kid: manifest.kid,
      });
      expect(strFromU8(verified.payload)).toBe(text('manifest.json'));
      expect((JSON.parse(text('jwks.json')) as JSONWebKeySet).keys.map((k) => k.x)).toContain(
        published.keys[0]?.x,
      );

      // The parts hold what they say.
      expect(text('report.csv')).toContain(approvalId);
      expect(text('report.md')).toContain(approvalId);
      expect(JSON.stringify(JSON.parse(text('report.json')))).toContain(approvalId);
      expect(JSON.parse(text('chain-verification.json'))).toMatchObject({ intact: true });
      const checkpoint = JSON.parse(text('checkpoint.json')) as {
        latest: { jws: string; seq: string } | null;
      };
      expect(checkpoint.latest?.jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      await compactVerify(checkpoint.latest?.jws ?? '', createLocalJWKSet(published));
      const policy = JSON.parse(text('policy-history.json')) as { loaded: { type: string }[] };
      expect(policy.loaded.length).toBeGreaterThan(0);
      expect(policy.loaded.every((e) => e.type === 'policy.loaded')).toBe(true);
      const admin = JSON.parse(text('admin-actions.json')) as { type: string; payload: unknown }[];
      expect(admin.map((e) => e.type)).toEqual(expect.arrayContaining(['key.created', 'audit.checkpoint']));
      expect(JSON.parse(text('directory-changes.json'))).toEqual([]);

      // A changed file no longer matches its hash; the check sees it.
      const changed = {
        ...files,
        'report.csv': new TextEncoder().encode(text('report.csv').replace(approvalId, 'x')),
      };
      expect(hashProblems(changed, manifest)).toEqual(['report.csv: changed']);
    });

    it('a period outside the chain gives an empty but complete pack; a bad period exits 2 and writes nothing', async () => {
      const empty = join(dir, 'empty.zip');
      const result = await runCli(['audit', 'evidence', '--period', '2001-Q1', '--out', empty], env);
      expect(result.code, describeRun(result)).toBe(0);
      const files = unzipSync(new Uint8Array(await readFile(empty)));
      const manifest = JSON.parse(strFromU8(files['manifest.json'] ?? new Uint8Array())) as Manifest;
      expect(manifest.period).toEqual({
        name: '2001-Q1',
        from: '2001-01-01T00:00:00.000Z',
        to: '2001-04-01T00:00:00.000Z',
      });
      expect(hashProblems(files, manifest)).toEqual([]);
      expect(JSON.parse(strFromU8(files['admin-actions.json'] ?? new Uint8Array()))).toEqual([]);

      const bad = join(dir, 'bad.zip');
      const refused = await runCli(['audit', 'evidence', '--period', '2026-Q5', '--out', bad], env);
      expect(refused.code, describeRun(refused)).toBe(2);
      expect(refused.stderr).toContain(
        '--period "2026-Q5": expected a quarter (2026-Q4), a month (2026-11) or a year (2026)',
      );
      await expect(stat(bad)).rejects.toThrow(/ENOENT/);
    });
  },
);
