// npm run bench [append|report …]: each benchmark prints its figures beside a baseline measured in
// the same run; names pick benchmarks (all by default).
import { benchAuditAppend } from './audit-append.bench.ts';
import { benchReportMemory } from './report-memory.bench.ts';

const benchmarks: Record<string, () => Promise<void>> = {
  append: benchAuditAppend,
  report: benchReportMemory,
};

const selected = process.argv.slice(2);
const unknown = selected.filter((name) => !(name in benchmarks));
if (unknown.length > 0)
  throw new Error(`unknown benchmark ${unknown.join(', ')}: pick from ${Object.keys(benchmarks).join(', ')}`);

for (const [name, run] of Object.entries(benchmarks)) {
  if (selected.length === 0 || selected.includes(name)) await run();
}
