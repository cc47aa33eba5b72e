// The period an evidence pack covers, named as auditors name it: a quarter (2026-Q4), a month
// (2026-11) or a year (2026), in UTC; the period is [from, to).
import type { ReportPeriod } from '../report/report-period.ts';

export class EvidencePeriodError extends Error {}

const QUARTER = /^(\d{4})-Q([1-4])$/;
const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;
const YEAR = /^(\d{4})$/;

/** Parses `2026-Q4`, `2026-11` or `2026`; throws EvidencePeriodError naming the accepted forms. */
export function parseEvidencePeriod(value: string): ReportPeriod & { name: string } {
  const text = value.trim();
  const utc = (year: number, month: number) => new Date(Date.UTC(year, month, 1));
  const quarter = QUARTER.exec(text);
  if (quarter) {
    const year = Number(quarter[1]);
    const first = (Number(quarter[2]) - 1) * 3;
    return { name: text, from: utc(year, first), to: utc(year, first + 3) };
  }
  const month = MONTH.exec(text);
  if (month) {
    const year = Number(month[1]);
    const index = Number(month[2]) - 1;
    return { name: text, from: utc(year, index), to: utc(year, index + 1) };
  }
  const year = YEAR.exec(text);
  if (year) return { name: text, from: utc(Number(year[1]), 0), to: utc(Number(year[1]) + 1, 0) };
  throw new EvidencePeriodError(
    `--period ${JSON.stringify(value)}: expected a quarter (2026-Q4), a month (2026-11) or a year (2026)`,
  );
}
