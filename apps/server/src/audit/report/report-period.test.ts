// Report periods: ISO dates (whole days), datetimes, relative periods, the 30-day default, errors.
import { describe, expect, it } from 'vitest';
import { parsePeriodBound, parseReportPeriod, ReportPeriodError } from './report-period.ts';

const NOW = new Date('2030-03-15T12:00:00.000Z');
const iso = (p: { from: Date; to: Date }) => ({ from: p.from.toISOString(), to: p.to.toISOString() });

describe('parseReportPeriod', () => {
  it('defaults to the 30 days up to now', () => {
    expect(iso(parseReportPeriod({}, NOW))).toEqual({
      from: '2030-02-13T12:00:00.000Z',
      to: '2030-03-15T12:00:00.000Z',
    });
  });

  it('takes ISO dates as whole days, the end day included', () => {
    expect(iso(parseReportPeriod({ from: '2030-01-01', to: '2030-01-31' }, NOW))).toEqual({
      from: '2030-01-01T00:00:00.000Z',
      to: '2030-02-01T00:00:00.000Z',
    });
  });

  it('takes ISO datetimes with an offset as instants', () => {
    expect(
      iso(parseReportPeriod({ from: '2030-01-01T10:00:00+02:00', to: '2030-01-01T12:30:00Z' }, NOW)),
    ).toEqual({ from: '2030-01-01T08:00:00.000Z', to: '2030-01-01T12:30:00.000Z' });
  });

  it.each([
    ['24h', '2030-03-14T12:00:00.000Z'],
    ['7d', '2030-03-08T12:00:00.000Z'],
    ['30d', '2030-02-13T12:00:00.000Z'],
    ['2w', '2030-03-01T12:00:00.000Z'],
  ])('takes %s as that long before now', (relative, from) => {
    expect(iso(parseReportPeriod({ from: relative }, NOW))).toEqual({ from, to: NOW.toISOString() });
  });

  it('a relative --to counts back from now too, and --from defaults to 30 days before it', () => {
    expect(iso(parseReportPeriod({ to: '1d' }, NOW))).toEqual({
      from: '2030-02-12T12:00:00.000Z',
      to: '2030-03-14T12:00:00.000Z',
    });
  });

  it.each(['yesterday', '7', 'd7', '2030-13-01', '2030-01-01T25:00:00Z', '2030-01-01T10:00:00', ''])(
    'refuses %j',
    (value) => {
      expect(() => parseReportPeriod({ from: value }, NOW)).toThrow(ReportPeriodError);
    },
  );

  it('refuses an empty or reversed period', () => {
    expect(() => parseReportPeriod({ from: '2030-02-01', to: '2030-01-01' }, NOW)).toThrow(/period is empty/);
    expect(() =>
      parseReportPeriod({ from: '2030-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' }, NOW),
    ).toThrow(ReportPeriodError);
  });

  it('a date alone is the start of the day as `from` and the end of it as `to`', () => {
    expect(parsePeriodBound('2030-01-01', 'from', NOW).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(parsePeriodBound('2030-01-01', 'to', NOW).toISOString()).toBe('2030-01-02T00:00:00.000Z');
  });
});
