// A client that leaves in the middle of GET /v1/audit/report: the server stops writing (instead of
// waiting forever for the socket to drain), logs a warning, and records no report run.
import http from 'node:http';
import { expect, it } from 'vitest';
import { capturingLogger } from '../support/logging.ts';
import { pollUntil } from '../support/poll.ts';
import { startTestServer } from '../support/test-server.ts';

const ROWS = 20_000;

it('stops the report and records no run when the client goes away mid-report', async () => {
  const captured = capturingLogger('info');
  const t = await startTestServer({ log: captured.log });
  try {
    const auditor = await t.createKey('auditor', ['audit:read']);
    // Enough rows (several MB of CSV) that the server must wait for the socket to drain.
    await t.server.db.pool.query(
      `INSERT INTO approval_requests (id, client_id, action, title, requester_email, context,
                                      payload_digest, quorum, request_hash, expires_at, created_at)
       SELECT gen_random_uuid(), $1, 'db.export', repeat('x', 200), 'alice@example.com', '{}'::jsonb,
              repeat('0', 64), 1, 'seeded', now() + interval '1 hour', now() - interval '1 minute'
         FROM generate_series(1, ${ROWS})`,
      [auditor.clientId],
    );

    const firstChunk = await new Promise<Buffer>((resolve, reject) => {
      const req = http.get(
        `${t.url}/v1/audit/report?from=1d&format=csv`,
        { headers: { authorization: `Bearer ${auditor.key}` } },
        (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', (chunk: Buffer) => {
            res.destroy(); // the client goes away after the first chunk
            resolve(chunk);
          });
        },
      );
      req.on('error', reject);
    });
    expect(firstChunk.toString('utf8')).toMatch(/^# Countersign audit report: period .*\r\nid,/);

    await pollUntil(
      () => captured.lines(),
      (lines) => lines.some((line) => line['msg'] === 'audit report client went away mid-report'),
      { what: 'the server to notice the client left' },
    );
    const { rows } = await t.server.db.pool.query<{ runs: number }>(
      `SELECT count(*)::int AS runs FROM audit_events WHERE type = 'report.generated'`,
    );
    expect(rows[0]?.runs).toBe(0);
  } finally {
    await t.close();
  }
});
