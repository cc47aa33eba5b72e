import { describe, expect, it } from 'vitest';
import { horizontalBars, niceMax, verticalBars } from './bar-chart.ts';

describe('chart geometry', () => {
  it('rounds the axis up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 3, 7, 10, 11, 180, 501].map(niceMax)).toEqual([1, 1, 5, 10, 10, 20, 200, 1000]);
  });

  it('stacks segments bottom up and scales them to the axis', () => {
    const chart = verticalBars(
      [
        {
          label: 'a',
          stacks: [
            [
              { key: 'approved', value: 2 },
              { key: 'denied', value: 3 },
            ],
          ],
        },
      ],
      { width: 148, height: 136 }, // a 100 × 100 plot
    );
    expect(chart.max).toBe(5);
    const [approved, denied] = chart.rects;
    expect(approved).toMatchObject({ cls: 'bar-approved', height: 40, y: 68 });
    expect(denied).toMatchObject({ cls: 'bar-denied', height: 60, y: 8 });
  });

  it('draws nothing for zero values and thins out the x labels', () => {
    const groups = Array.from({ length: 30 }, (_, i) => ({
      label: `d${i}`,
      stacks: [[{ key: 'x', value: 0 }]],
    }));
    const chart = verticalBars(groups, { maxXLabels: 10 });
    expect(chart.rects).toEqual([]);
    expect(chart.xLabels.map((l) => l.text)).toEqual([
      'd0',
      'd3',
      'd6',
      'd9',
      'd12',
      'd15',
      'd18',
      'd21',
      'd24',
      'd27',
    ]);
  });

  it('scales horizontal bars to the largest value', () => {
    const chart = horizontalBars([
      { label: 'self approval', value: 4, key: 'refused' },
      { label: 'expired', value: 1, key: 'refused' },
    ]);
    expect(chart.bars[0]?.width).toBeGreaterThan(0);
    expect(chart.bars[1]?.width).toBeCloseTo((chart.bars[0]?.width ?? 0) / 4, 0);
  });
});
