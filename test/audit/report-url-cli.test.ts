// `countersign audit report --url` (server mode) as a real process against an in-process server:
// the report streamed to --out or stdout, the chain status read from the HTTP trailers (exit 0
// intact, 1 not intact, 2 bad period, 3 server errors or an incomplete download), and the run
// audited as the key's client. A stand-in server plays the proxy that drops trailers or breaks off.
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReportRow } from '../../apps/server/src/audit/report/report-rows.ts';
import type { ReportSummary } from '../../apps/server/src/audit/report/report-summary.ts';
import type { CreatedApiKey } from '../../apps/server/src/keys/create-api-key.ts';
import { createApproval, withPgClient, type Approval } from '../support/api-fixtures.ts';
import { cliEnv, describeRun, freePort, killRunningClis, runCli, type CliResult } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/test-server.ts';

function expectExit(result: CliResult, code: number): void {
  expect(result.signal, describeRun(result)).toBeNull();
  expect(result.code, describeRun(result)).toBe(code);
}

interface StoredRun {
  actor: string;
  payload: { format: string; rows: number; filters: { action: string | null }; chainIntact: boolean };
}

/** A plain HTTP server whose answers each test decides; counts the requests it gets. */
class StandInServer {
  requests = 0;
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  private readonly server: Server = createServer((req, res) => {
    this.requests += 1;
    this.handler(req, res);
  });

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** GET over node:http (fetch does not expose trailers): status, headers, body and trailers. */
function rawGet(url: string, key: string, method = 'GET') {
  return new Promise<{
    status: number;
    headers: IncomingMessage['headers'];
    body: string;
    trailers: NodeJS.Dict<string>;
  }>((resolve, reject) => {
    const req = request(url, { method, headers: { authorization: `Bearer ${key}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, trailers: res.trailers }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// Every case starts a fresh Node process (tsx); slow on a busy machine, so more time than default.
describe('countersign audit report --url', { timeout: 120_000 }, () => {
  let t: TestServer;
  let standIn: StandInServer;
  let auditor: CreatedApiKey;
  let writer: CreatedApiKey;
  let created: Approval[];
  let workDir: string;

  beforeAll(async () => {
    t = await startTestServer();
    standIn = new StandInServer();
    await standIn.start();
    writer = await t.createKey('pipeline');
    auditor = await t.createKey('auditor', ['audit:read']);
    created = [
      await createApproval(t, writer.key, { title: '=cmd|calc' }),
      await createApproval(t, writer.key, { action: 'prod.deploy', title: 'Deploy v2' }),
    ];
    workDir = await mkdtemp(join(tmpdir(), 'countersign-report-url-'));
  });
  afterEach(async () => {
    await killRunningClis();
    standIn.handler = (_req, res) => res.end();
    standIn.requests = 0;
  });
  afterAll(async () => {
    await killRunningClis();
    await standIn?.close();
    await t?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const lastRun = async (): Promise<StoredRun | undefined> => {
    const { rows } = await t.server.db.pool.query<StoredRun>(
      `SELECT actor, payload FROM audit_events WHERE type = 'report.generated' ORDER BY seq DESC LIMIT 1`,
    );
    return rows[0];
  };

  it('writes the CSV to --out with the rows of the period, exit 0, audited as the key’s client', async () => {
    const file = join(workDir, 'report.csv');
    const result = await runCli(
      ['audit', 'report', '--url', t.url, '--api-key', auditor.key, '--from', '1d', '--out', file],
      cliEnv({}),
    );
    expectExit(result, 0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('report: 2 rows; audit chain intact\n');
    const records = parse<Record<string, string>>(await readFile(file, 'utf8'), {
      columns: true,
      comment: '#',
      comment_no_infix: true,
    });
    expect(records.map((r) => r['id'])).toEqual(created.map((c) => c.id));
    expect(records[0]).toMatchObject({ action: 'db.export', title: `'=cmd|calc`, status: 'pending' });
    expect(records[1]).toMatchObject({ action: 'prod.deploy', title: 'Deploy v2' });
    expect(await lastRun()).toMatchObject({
      actor: `client:${auditor.clientId}`,
      payload: { format: 'csv', rows: 2, chainIntact: true },
    });
  });

  it('prints JSON to stdout, with the key from COUNTERSIGN_API_KEY and the filters passed on', async () => {
    const result = await runCli(
      ['audit', 'report', '--url', t.url, '--from', '1d', '--format', 'json', '--action', 'prod.*'],
      cliEnv({ COUNTERSIGN_API_KEY: auditor.key }),
    );
    expectExit(result, 0);
    const parsed = JSON.parse(result.stdout) as { rows: ReportRow[]; summary: ReportSummary };
    expect(parsed.rows.map((r) => r.id)).toEqual([created[1]?.id]);
    expect(parsed.summary).toMatchObject({ requests: 1, chain: { intact: true } });
    expect(result.stderr).toContain('report: 1 rows; audit chain intact\n');
    expect(await lastRun()).toMatchObject({
      actor: `client:${auditor.clientId}`,
      payload: { format: 'json', rows: 1, filters: { action: 'prod.*' } },
    });
  });

  it('without --url reads DATABASE_URL even when COUNTERSIGN_URL is set', async () => {
    const result = await runCli(
      ['audit', 'report', '--from', '1d', '--format', 'json'],
      cliEnv({
        DATABASE_URL: t.database.url,
        COUNTERSIGN_URL: standIn.url,
        COUNTERSIGN_API_KEY: auditor.key,
      }),
    );
    expectExit(result, 0);
    expect(standIn.requests).toBe(0);
    expect(await lastRun()).toMatchObject({ actor: expect.stringMatching(/^cli:.+/) as string });
  });

  it('exits 3 naming INSUFFICIENT_SCOPE for a key without audit:read, and writes no file', async () => {
    const file = join(workDir, 'refused.csv');
    const result = await runCli(
      ['audit', 'report', '--url', t.url, '--api-key', writer.key, '--out', file],
      cliEnv({}),
    );
    expectExit(result, 3);
    expect(result.stderr).toMatch(/GET \/v1\/audit\/report failed with HTTP 403 INSUFFICIENT_SCOPE: /);
    expect(result.stderr).toMatch(/request id \S+/);
    expect(existsSync(file)).toBe(false);
  });

  it('exits 2 for a bad period, or --api-key without --url, before any request', async () => {
    const empty = await runCli(
      [
        'audit',
        'report',
        '--url',
        standIn.url,
        '--api-key',
        'cs_x',
        '--from',
        '2030-02-01',
        '--to',
        '2030-01-01',
      ],
      cliEnv({}),
    );
    expectExit(empty, 2);
    expect(empty.stderr).toContain('the period is empty');
    const malformed = await runCli(
      ['audit', 'report', '--url', standIn.url, '--from', 'yesterday'],
      cliEnv({}),
    );
    expectExit(malformed, 2);
    const keyOnly = await runCli(['audit', 'report', '--api-key', 'cs_x'], cliEnv({}));
    expectExit(keyOnly, 2);
    expect(keyOnly.stderr).toContain('--api-key needs --url');
    expect(standIn.requests).toBe(0);
  });

  it('exits 3 when the server cannot be reached, or without an API key', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await runCli(['audit', 'report', '--url', url, '--api-key', 'cs_x'], cliEnv({}));
    expectExit(unreachable, 3);
    expect(unreachable.stderr).toContain(`cannot reach ${url}: ECONNREFUSED`);
    const noKey = await runCli(['audit', 'report', '--url', t.url], cliEnv({}));
    expectExit(noKey, 3);
    expect(noKey.stderr).toContain('no API key');
  });

  it('exits 3 when the trailers are missing (a proxy dropped them), keeping what was written', async () => {
    standIn.handler = (_req, res) => {
      res.setHeader('Content-Type', 'text/csv');
      res.end('id,action\r\n');
    };
    const file = join(workDir, 'no-trailers.csv');
    const result = await runCli(
      ['audit', 'report', '--url', standIn.url, '--api-key', 'cs_x', '--out', file],
      cliEnv({}),
    );
    expectExit(result, 3);
    expect(result.stderr).toContain('ended without the Countersign-Chain-Intact trailer');
    expect(result.stderr).toContain(
      `the report written to ${file} may be incomplete and its audit chain status is unknown`,
    );
    expect(result.stderr).not.toContain('audit chain intact');
    expect(await readFile(file, 'utf8')).toBe('id,action\r\n');
  });

  it('exits 3 when the connection breaks in the middle of the report', async () => {
    standIn.handler = (_req, res) => {
      res.setHeader('Content-Type', 'text/csv');
      res.setHeader('Trailer', 'Countersign-Report-Rows, Countersign-Chain-Intact');
      res.write('id,action\r\n', () => res.destroy());
    };
    const result = await runCli(['audit', 'report', '--url', standIn.url, '--api-key', 'cs_x'], cliEnv({}));
    expectExit(result, 3);
    expect(result.stderr).toMatch(/the connection to http:\/\/127\.0\.0\.1:\d+ broke after \d+ bytes/);
    expect(result.stderr).toContain('the report written to stdout may be incomplete');
  });

  it('exits 3 on a redirect instead of following it', async () => {
    standIn.handler = (_req, res) => {
      res.writeHead(302, { Location: `${standIn.url}/elsewhere` }).end();
    };
    const result = await runCli(['audit', 'report', '--url', standIn.url, '--api-key', 'cs_x'], cliEnv({}));
    expectExit(result, 3);
    expect(result.stderr).toContain(
      `failed with HTTP 302: redirect to ${standIn.url}/elsewhere not followed`,
    );
    expect(standIn.requests).toBe(1);
  });

  it('sends the row count and the chain status as HTTP trailers (node:http)', async () => {
    const response = await rawGet(`${t.url}/v1/audit/report?from=1d&format=csv`, auditor.key);
    expect(response.status).toBe(200);
    expect(response.headers['transfer-encoding']).toBe('chunked');
    expect(response.headers['trailer']).toBe(
      'Countersign-Report-Rows, Countersign-Chain-Intact, Countersign-Chain-First-Bad-Seq, Countersign-Chain-Problem',
    );
    expect(parse(response.body, { columns: true, comment: '#', comment_no_infix: true })).toHaveLength(2);
    expect(response.trailers).toEqual({
      'countersign-report-rows': '2',
      'countersign-chain-intact': 'true',
    });

    // HEAD cannot carry trailers (no chunked body): answered without them.
    const head = await rawGet(`${t.url}/v1/audit/report?from=1d`, auditor.key, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['trailer']).toBeUndefined();
  });

  // Runs last: it leaves the chain tampered.
  it('exits 1 with the NOT INTACT line on a tampered chain, with the report still written', async () => {
    // As the database owner: the server's own sessions run as a role that cannot do this.
    await withPgClient(t.database.url, async (client) => {
      await client.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      try {
        await client.query(
          `UPDATE audit_events SET payload = payload || '{"title":"harmless"}'
            WHERE seq = (SELECT min(seq) FROM audit_events)`,
        );
      } finally {
        await client.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      }
    });
    const { rows } = await t.server.db.pool.query<{ seq: string }>(
      'SELECT min(seq)::text AS seq FROM audit_events',
    );
    const firstSeq = rows[0]?.seq;

    const file = join(workDir, 'tampered.csv');
    const result = await runCli(
      ['audit', 'report', '--url', t.url, '--api-key', auditor.key, '--from', '1d', '--format', 'md'],
      cliEnv({}),
    );
    expectExit(result, 1);
    expect(result.stderr).toContain(
      `report: 2 rows; AUDIT CHAIN NOT INTACT at seq ${firstSeq} (hash_mismatch)\n`,
    );
    expect(result.stdout).toContain('**NOT INTACT**');

    const csv = await runCli(
      ['audit', 'report', '--url', t.url, '--api-key', auditor.key, '--from', '1d', '--out', file],
      cliEnv({}),
    );
    expectExit(csv, 1);
    expect(csv.stderr).toContain('AUDIT CHAIN NOT INTACT');
    expect(
      parse(await readFile(file, 'utf8'), { columns: true, comment: '#', comment_no_infix: true }),
    ).toHaveLength(2);
    expect(await lastRun()).toMatchObject({ payload: { chainIntact: false } });

    const direct = await rawGet(`${t.url}/v1/audit/report?from=1d`, auditor.key);
    expect(direct.trailers).toEqual({
      'countersign-report-rows': '2',
      'countersign-chain-intact': 'false',
      'countersign-chain-first-bad-seq': firstSeq,
      'countersign-chain-problem': 'hash_mismatch',
    });
  });
});
