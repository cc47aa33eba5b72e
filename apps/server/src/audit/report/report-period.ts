// The period a compliance report covers, from --from/--to (or ?from=&to=): ISO dates, ISO
// datetimes or relative periods before now (`24h`, `7d`, `2w`). The period is [from, to).
import { z } from 'zod';

export const DEFAULT_PERIOD_DAYS = 30;

export interface ReportPeriod {
  from: Date;
  to: Date;
}

const RELATIVE = /^(\d{1,5})([hdw])$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const DAY_MS = UNIT_MS.d;

export const periodBoundSchema = z
  .string()
  .trim()
  .refine((value) => RELATIVE.test(value) || z.iso.date().safeParse(value).success || isDateTime(value), {
    message:
      'expected an ISO date (2030-01-31), an ISO datetime (2030-01-31T12:00:00Z) or a relative period (24h, 7d, 2w)',
  });

function isDateTime(value: string): boolean {
  return z.iso.datetime({ offset: true, local: false }).safeParse(value).success;
}

/**
 * One bound as an instant. A relative period counts back from now; a date alone means the start
 * of that day (UTC) for `from` and the end of it for `to`, so `--from 2030-01-01 --to 2030-01-31`
 * covers the whole of January.
 */
export function parsePeriodBound(value: string, bound: 'from' | 'to', now: Date): Date {
  const text = periodBoundSchema.parse(value);
  const relative = RELATIVE.exec(text);
  if (relative) {
    const unit = relative[2] as keyof typeof UNIT_MS;
    return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[unit]);
  }
  if (DATE_ONLY.test(text)) {
    const start = new Date(`${text}T00:00:00.000Z`);
    return bound === 'to' ? new Date(start.getTime() + DAY_MS) : start;
  }
  return new Date(text);
}

export class ReportPeriodError extends Error {}

/** The period from optional bounds: the last 30 days up to now by default. */
export function parseReportPeriod(
  input: { from?: string | undefined; to?: string | undefined },
  now: Date,
): ReportPeriod {
  let to: Date;
  let from: Date;
  try {
    to = input.to !== undefined ? parsePeriodBound(input.to, 'to', now) : now;
    from =
      input.from !== undefined
        ? parsePeriodBound(input.from, 'from', now)
        : new Date(to.getTime() - DEFAULT_PERIOD_DAYS * DAY_MS);
  } catch (error) {
    if (error instanceof z.ZodError) {
      throw new ReportPeriodError(error.issues.map((issue) => issue.message).join('; '));
    }
    throw error;
  }
  if (from.getTime() >= to.getTime()) {
    throw new ReportPeriodError(
      `the period is empty: from ${from.toISOString()} is not before to ${to.toISOString()}`,
    );
  }
  return { from, to };
}

/** The file name a report of this period is offered under, e.g. for Content-Disposition. */
export function reportFileName(period: ReportPeriod, extension: string): string {
  const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, '-');
  return `countersign-report-${stamp(period.from)}-${stamp(period.to)}.${extension}`;
}
