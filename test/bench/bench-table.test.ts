// The pure parts of `npm run bench`: medians, percentiles, goal checks and the table. No timing is
// asserted here; the benchmarks themselves run only with `npm run bench`.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { figureBelow, median, percentile, ratioAtLeast } from '../../bench/lib/bench-row.ts';
import { tableLines, writeResults } from '../../bench/lib/results-table.ts';

describe('bench rows', () => {
  it('median and nearest-rank percentile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(
      percentile(
        Array.from({ length: 200 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(198);
    expect(() => median([])).toThrow();
  });

  it('judges ratio and ceiling goals, and cannot judge without a baseline', () => {
    const base = { name: 'intake', figure: 400, unit: 'req/s', baseline: 1000 };
    expect(ratioAtLeast(base, 0.4, 'pgbench')).toMatchObject({
      ratio: 0.4,
      pass: true,
      goal: '≥ 0.40× pgbench',
    });
    expect(ratioAtLeast({ ...base, figure: 399 }, 0.4, 'pgbench').pass).toBe(false);
    expect(ratioAtLeast({ ...base, baseline: null }, 0.4, 'pgbench')).toMatchObject({
      ratio: null,
      pass: null,
    });
    expect(figureBelow({ name: 'p99', figure: 49, unit: 'ms', baseline: 10 }, 50)).toMatchObject({
      pass: true,
      goal: '< 50 ms',
      ratio: 4.9,
    });
    expect(figureBelow({ name: 'p99', figure: 50, unit: 'ms', baseline: null }, 50).pass).toBe(false);
  });

  it('prints one aligned table, notes once, and writes the rows as JSON', () => {
    const rows = [
      {
        ...ratioAtLeast({ name: 'intake', figure: 150, unit: 'req/s', baseline: 931 }, 0.4, 'pgbench'),
        note: 'n',
      },
      { ...figureBelow({ name: 'intake@8 p99', figure: 128, unit: 'ms', baseline: null }, 50), note: 'n' },
    ];
    const lines = tableLines(rows);
    expect(lines[0]).toMatch(/^benchmark\s+figure\s+unit\s+baseline\s+ratio\s+goal\s+result$/);
    expect(lines[2]).toMatch(/^intake\s+150\s+req\/s\s+931\s+0\.16×\s+≥ 0\.40× pgbench\s+short$/);
    expect(lines[3]).toMatch(/^intake@8 p99\s+128\s+ms\s+-\s+-\s+< 50 ms\s+short$/);
    expect(lines.filter((line) => line.includes(': n'))).toEqual(['  intake, intake@8 p99: n']);
    const file = join(mkdtempSync(join(tmpdir(), 'bench-')), 'results', 'latest.json');
    writeResults(rows, file);
    const written: unknown = JSON.parse(readFileSync(file, 'utf8'));
    expect(written).toEqual(
      rows.map(({ name, figure, unit, baseline, ratio, goal, pass }) => ({
        name,
        figure,
        unit,
        baseline,
        ratio,
        goal,
        pass,
      })),
    );
  });
});
