// The pure parts of the growth benchmark: the kept seeds' names and sizes, and the rows that
// compare the large history with the small one. No timing is asserted here.
import { describe, expect, it } from 'vitest';
import { growthRows, LIST_FILTERS, type SizeFigures } from '../../bench/growth.bench.ts';
import { growthDatabaseName, growthRequests } from '../../bench/lib/growth-history.ts';

const figures = (scale: number): SizeFigures => ({
  intakeMs: 10 * scale,
  cardPostedMs: 100 * scale,
  clickToCardMs: 200,
  listMs: Object.fromEntries(Object.keys(LIST_FILTERS).map((name) => [name, 5 * scale])),
  reportMs: 800 * scale,
});

describe('growth benchmark', () => {
  it('names each kept seed after its size', () => {
    expect(growthDatabaseName(10_000)).toBe('countersign_bench_growth_10k');
    expect(growthDatabaseName(100_000)).toBe('countersign_bench_growth_100k');
    expect(growthDatabaseName(1_000_000)).toBe('countersign_bench_growth_1m');
    expect(growthDatabaseName(12_345)).toBe('countersign_bench_growth_12345');
  });

  it('seeds four events per request, rounding up', () => {
    expect(growthRequests(10_000)).toBe(2_500);
    expect(growthRequests(10_001)).toBe(2_501);
  });

  it('reports each figure at the large size over the small one, goal at most 1.5×', () => {
    const rows = growthRows(figures(1), figures(2), { small: 10_000, large: 1_000_000 });
    expect(rows.map((row) => row.name)).toEqual([
      'growth intake p50',
      'growth card posted p50',
      'growth click→card p50',
      ...Object.keys(LIST_FILTERS).map((name) => `growth list ${name} p50`),
      'growth report 6h',
    ]);
    const intake = rows[0];
    expect(intake).toMatchObject({ figure: 20, baseline: 10, ratio: 2, goal: '≤ 1.5× at 10k', pass: false });
    const click = rows[2];
    expect(click).toMatchObject({ ratio: 1, pass: true });
    expect(intake?.note).toContain('1M events ÷ 10k events');
  });
});
