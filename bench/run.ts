// npm run bench [-- --quick] [name …]: runs the benchmarks (all by default, or those named), each
// beside a baseline measured in the same run, and ends with one table; the same rows go to
// bench/results/latest.json. A name selects a benchmark and every row it reports (intake gives
// intake@1, intake@8, intake).
import { benchAuditAppend } from './audit-append.bench.ts';
import { benchReport } from './audit-report.bench.ts';
import { benchVerify } from './audit-verify.bench.ts';
import { benchVerifyParallel } from './verify-parallel.bench.ts';
import { benchCliStart } from './cli-start.bench.ts';
import { benchDecide } from './decide.bench.ts';
import { benchEmbedded } from './embedded.bench.ts';
import { benchEmbeddedMemory } from './embedded-memory.bench.ts';
import { benchGrowth } from './growth.bench.ts';
import type { Benchmark, BenchRow } from './lib/bench-row.ts';
import { RESULTS_FILE, tableLines, writeResults } from './lib/results-table.ts';
import { benchIntake } from './intake.bench.ts';

const benchmarks: Record<string, Benchmark> = {
  intake: benchIntake,
  decide: benchDecide,
  append: benchAuditAppend,
  verify: benchVerify,
  'verify-parallel': benchVerifyParallel,
  report: benchReport,
  embedded: benchEmbedded,
  'embedded-memory': benchEmbeddedMemory,
  growth: benchGrowth,
  cli: benchCliStart,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const selected = args.filter((arg) => arg !== '--quick');
const unknown = selected.filter((name) => !(name in benchmarks));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}: pick from ${Object.keys(benchmarks).join(', ')}`);
  process.exit(2);
}

const rows: BenchRow[] = [];
for (const [name, run] of Object.entries(benchmarks)) {
  if (selected.length > 0 && !selected.includes(name)) continue;
  console.log(`\n== ${name}${quick ? ' (quick)' : ''}`);
  const started = performance.now();
  const produced = await run({ quick });
  rows.push(...produced);
  console.log(`   ${name} took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (const line of tableLines(produced)) console.log(`   ${line}`);
}

console.log('');
for (const line of tableLines(rows)) console.log(line);
writeResults(rows);
console.log(`\nwritten to ${RESULTS_FILE}`);
