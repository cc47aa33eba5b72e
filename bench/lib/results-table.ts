// Prints the rows as one table and writes them to bench/results/latest.json (git-ignored) so runs
// can be compared.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './bench-row.ts';

export const RESULTS_FILE = fileURLToPath(new URL('../results/latest.json', import.meta.url));

function formatNumber(value: number | null): string {
  if (value === null) return '-';
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function tableLines(rows: readonly BenchRow[]): string[] {
  const header = ['benchmark', 'figure', 'unit', 'baseline', 'ratio', 'goal', 'result'];
  const cells = rows.map((row) => [
    row.name,
    formatNumber(row.figure),
    row.unit,
    formatNumber(row.baseline),
    row.ratio === null ? '-' : `${row.ratio.toFixed(2)}×`,
    row.goal,
    row.pass === null ? 'n/a' : row.pass ? 'pass' : 'short',
  ]);
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((line) => line[i]?.length ?? 0)));
  const rightAligned = new Set([1, 3, 4]);
  const render = (line: string[]) =>
    line
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const lines = [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(render)];
  // Rows that share a note (one benchmark's rows, usually) list it once.
  const byNote = new Map<string, string[]>();
  for (const row of rows) if (row.note) byNote.set(row.note, [...(byNote.get(row.note) ?? []), row.name]);
  const notes = [...byNote].map(([note, names]) => `  ${names.join(', ')}: ${note}`);
  return notes.length > 0 ? [...lines, '', 'notes:', ...notes] : lines;
}

export function writeResults(rows: readonly BenchRow[], file = RESULTS_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  const json = rows.map(({ name, figure, unit, baseline, ratio, goal, pass }) => ({
    name,
    figure,
    unit,
    baseline,
    ratio,
    goal,
    pass,
  }));
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}
