// One line of `npm run bench`'s table and of bench/results/latest.json: a figure, the baseline
// measured in the same run, their ratio and whether the goal is met.
export interface BenchRow {
  name: string;
  figure: number;
  unit: string;
  /** The baseline's figure in the same unit, or null when it could not be measured (say why in `note`). */
  baseline: number | null;
  /** figure / baseline (or the goal's own ratio, e.g. a read time over a verify time), null without a baseline. */
  ratio: number | null;
  /** The goal in words, e.g. "≥ 0.40× pgbench" or "p99 < 50 ms". */
  goal: string;
  /** Whether the goal is met; null when it cannot be judged (no baseline). */
  pass: boolean | null;
  /** What the baseline is, or why it is missing. */
  note?: string;
}

export interface BenchOptions {
  /** Shorter runs and fewer rounds, to check that the benchmarks work, not to quote figures. */
  quick: boolean;
}

export type Benchmark = (options: BenchOptions) => Promise<BenchRow[]>;

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The value below which `p` percent of the values lie (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Runs `measure` `count` times, one after another. */
export async function repeat<T>(count: number, measure: (round: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let round = 0; round < count; round += 1) results.push(await measure(round));
  return results;
}

/** A row whose goal is "figure / baseline ≥ min" (higher is better). */
export function ratioAtLeast(
  row: Omit<BenchRow, 'ratio' | 'goal' | 'pass'>,
  min: number,
  baselineName: string,
): BenchRow {
  const ratio = row.baseline ? row.figure / row.baseline : null;
  return {
    ...row,
    ratio,
    goal: `≥ ${min.toFixed(2)}× ${baselineName}`,
    pass: ratio === null ? null : ratio >= min,
  };
}

/** A row whose goal is "figure < max" in the row's unit (lower is better); the ratio is figure / baseline. */
export function figureBelow(row: Omit<BenchRow, 'ratio' | 'goal' | 'pass'>, max: number): BenchRow {
  return {
    ...row,
    ratio: row.baseline ? row.figure / row.baseline : null,
    goal: `< ${max} ${row.unit}`,
    pass: row.figure < max,
  };
}
