import { describe, expect, it } from 'vitest';
import { parseCommandText } from './report-command.ts';

describe('parseCommandText', () => {
  it('reads report with no period, a relative period and a range with either side left out', () => {
    expect(parseCommandText('report')).toEqual({ kind: 'report', from: undefined, to: undefined });
    expect(parseCommandText('  REPORT   7d ')).toEqual({ kind: 'report', from: '7d', to: undefined });
    expect(parseCommandText('report 2030-01-01..2030-01-31')).toEqual({
      kind: 'report',
      from: '2030-01-01',
      to: '2030-01-31',
    });
    expect(parseCommandText('report 2030-01-01T10:00:00.000Z..')).toEqual({
      kind: 'report',
      from: '2030-01-01T10:00:00.000Z',
      to: undefined,
    });
    expect(parseCommandText('report ..2030-01-31')).toEqual({
      kind: 'report',
      from: undefined,
      to: '2030-01-31',
    });
  });

  it('treats an empty text and help as help, and refuses other words and extra periods', () => {
    expect(parseCommandText('')).toEqual({ kind: 'help' });
    expect(parseCommandText('help')).toEqual({ kind: 'help' });
    expect(parseCommandText('approve all')).toEqual({
      kind: 'invalid',
      message: 'Unknown command `approve`.',
    });
    expect(parseCommandText('report 7d 30d')).toEqual({
      kind: 'invalid',
      message: 'Give one period, without spaces.',
    });
  });
});
