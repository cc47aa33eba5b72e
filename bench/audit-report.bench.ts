// Report: the CSV compliance report over the shared seeded history (1 M audit events), in a
// process of its own (report-memory-worker.ts: generateReport, as `countersign audit report`
// runs it, summary and whole-chain verification included), timed and its RSS growth sampled,
// against psql reading the same joined rows the report reads (`\copy … TO '/dev/null'`).
// REPORT_BENCH_DETAIL=1 also prints the older table (250k and 1 M events, md, naive, capped heap).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { figureBelow, median, repeat, type BenchOptions, type BenchRow } from './lib/bench-row.ts';
import { auditHistory } from './lib/audit-history.ts';
import { copyOut } from './lib/run-timed.ts';
import type { Measurement } from './report-memory-worker.ts';
import { benchReportMemory } from './report-memory.bench.ts';

const WORKER = fileURLToPath(new URL('./report-memory-worker.ts', import.meta.url));
const MAX_TIMES_THE_READ = 3;
const MAX_RSS_GROWTH_MB = 100;
const MB = 2 ** 20;

/**
 * The rows report-rows.ts assembles, in one statement: the period's requests in (created_at, id)
 * order with their decisions, chat cards, newest callback, execution and cancellation.
 */
export const REPORT_READ = `SELECT r.id, r.created_at, r.action, r.title, r.requester_email, r.agent->>'name',
    r.policy_rule, r.status, r.decided_at, r.payload_digest, r.approvers, r.any_approver,
    (SELECT json_agg(json_build_object('email', d.approver_email, 'platform', d.platform, 'verdict', d.verdict,
            'reason', d.reason, 'at', d.created_at, 'devSignin', d.dev_signin) ORDER BY d.created_at, d.id)
       FROM decisions d WHERE d.request_id = r.id),
    (SELECT json_agg(json_build_object('channel', c.channel, 'messageId', c.message_id) ORDER BY c.id)
       FROM chat_cards c WHERE c.request_id = r.id),
    (SELECT cd.status || ' ' || cd.attempt_count FROM callback_deliveries cd WHERE cd.request_id = r.id
      ORDER BY cd.created_at DESC, cd.id LIMIT 1),
    (SELECT x.started_at || ' ' || x.outcome FROM request_executions x WHERE x.request_id = r.id),
    (SELECT e.actor || ' ' || coalesce(e.payload->>'reason', '') FROM audit_events e
      WHERE e.type = 'request.cancelled' AND e.request_id = r.id LIMIT 1)
  FROM approval_requests r
 WHERE r.created_at >= '2025-01-01T00:00:00Z' AND r.created_at < '2026-01-01T00:00:00Z'
 ORDER BY r.created_at, r.id`;

function reportRun(url: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, ['csv', url], { execArgv: [...process.execArgv, '--expose-gc'] });
    let result: Measurement | undefined;
    child.on('message', (message) => (result = message as Measurement));
    child.on('error', reject);
    child.on('exit', (code) =>
      result && code === 0 ? resolve(result) : reject(new Error(`report run exited with code ${code}`)),
    );
  });
}

export async function benchReport({ quick }: BenchOptions): Promise<BenchRow[]> {
  const rounds = quick ? 1 : 3;
  const history = await auditHistory(quick);
  await copyOut(history.url, REPORT_READ); // warm-up: the tables into the caches

  const reports = await repeat(rounds, async (round) => {
    const m = await reportRun(history.url);
    if (m.intact !== true || m.items !== history.requests)
      throw new Error(`the report wrote ${m.items} rows (chain intact: ${String(m.intact)})`);
    console.log(
      `   report round ${round + 1}: ${m.items} rows in ${m.seconds.toFixed(1)} s, ${(m.items / m.seconds).toFixed(0)} rows/s, ` +
        `rss +${(m.peak.rss / MB).toFixed(0)} MB (idle ${(m.idle.rss / MB).toFixed(0)} MB), heap +${(m.peak.heapUsed / MB).toFixed(0)} MB, ${(m.bytes / MB).toFixed(0)} MB of CSV`,
    );
    return m;
  });
  const reads = await repeat(rounds, async (round) => {
    const run = await copyOut(history.url, REPORT_READ);
    console.log(`   read round ${round + 1}: ${history.requests} joined rows in ${run.seconds.toFixed(1)} s`);
    return run.seconds;
  });

  const reportSeconds = median(reports.map((m) => m.seconds));
  const readSeconds = median(reads);
  const ratio = reportSeconds / readSeconds;
  const size = `${history.events.toLocaleString('en-US')} events, ${history.requests.toLocaleString('en-US')} requests${quick ? ' (--quick: not the 1 M of the goal)' : ''}`;
  if (process.env['REPORT_BENCH_DETAIL'] === '1') await benchReportMemory();
  return [
    {
      name: 'report',
      figure: history.requests / reportSeconds,
      unit: 'rows/s',
      baseline: history.requests / readSeconds,
      ratio,
      goal: `≤ ${MAX_TIMES_THE_READ}× the read time`,
      pass: ratio <= MAX_TIMES_THE_READ,
      note: `CSV report over ${size}, whole-chain verification included; baseline: psql \\copy of the same joined rows to /dev/null; ratio: report time / read time`,
    },
    figureBelow(
      {
        name: 'report rss',
        figure: median(reports.map((m) => m.peak.rss)) / MB,
        unit: 'MB',
        baseline: median(reports.map((m) => m.idle.rss)) / MB,
        note: `peak RSS growth of the report process (sampled every 50 ms) over ${size}; baseline: its idle RSS before the report, after gc`,
      },
      MAX_RSS_GROWTH_MB,
    ),
  ];
}
