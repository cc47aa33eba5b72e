// Geometry for the Audit page's charts, drawn by the template as inline SVG: no script and no
// inline style (colours come from classes in the stylesheet), so they live under the strict CSP.

export interface Segment {
  /** Becomes the CSS class `bar-<key>`. */
  key: string;
  value: number;
}

export interface BarGroup {
  label: string;
  /** Bars side by side within the group; each bar stacks its segments bottom up. */
  stacks: Segment[][];
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
  cls: string;
  title: string;
}

export interface Label {
  x: number;
  y: number;
  text: string;
}

export interface ChartGeometry {
  width: number;
  height: number;
  rects: Rect[];
  xLabels: Label[];
  yLabels: Label[];
  /** Horizontal grid lines at the y labels. */
  grid: { x1: number; x2: number; y: number }[];
  max: number;
}

const PAD = { left: 40, right: 8, top: 8, bottom: 28 };

/** A round-ish axis maximum at or above `max` (1, 2 or 5 times a power of ten). */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 5, 10].find((m) => m * power >= max) ?? 10;
  return step * power;
}

/** Vertical grouped, stacked bars; at most `maxXLabels` group labels are printed. */
export function verticalBars(
  groups: BarGroup[],
  {
    width = 720,
    height = 220,
    maxXLabels = 10,
  }: { width?: number; height?: number; maxXLabels?: number } = {},
): ChartGeometry {
  const plotWidth = width - PAD.left - PAD.right;
  const plotHeight = height - PAD.top - PAD.bottom;
  const totals = groups.flatMap((g) => g.stacks.map((s) => s.reduce((sum, seg) => sum + seg.value, 0)));
  const max = niceMax(Math.max(0, ...totals));
  const groupWidth = groups.length > 0 ? plotWidth / groups.length : plotWidth;
  const rects: Rect[] = [];
  groups.forEach((group, gi) => {
    const stackCount = Math.max(1, group.stacks.length);
    const barWidth = Math.max(1, (groupWidth * 0.8) / stackCount);
    group.stacks.forEach((stack, si) => {
      const x = PAD.left + gi * groupWidth + groupWidth * 0.1 + si * barWidth;
      let base = PAD.top + plotHeight;
      for (const seg of stack) {
        if (seg.value <= 0) continue;
        const h = (seg.value / max) * plotHeight;
        base -= h;
        rects.push({
          x: round(x),
          y: round(base),
          width: round(barWidth),
          height: round(h),
          cls: `bar-${seg.key}`,
          title: `${group.label}: ${seg.value} ${seg.key}`,
        });
      }
    });
  });
  const every = Math.max(1, Math.ceil(groups.length / maxXLabels));
  const xLabels = groups
    .map((g, i) => ({ x: round(PAD.left + i * groupWidth + groupWidth / 2), y: height - 8, text: g.label }))
    .filter((_, i) => i % every === 0);
  const yLabels = [0, max / 2, max].map((value) => ({
    x: PAD.left - 6,
    y: round(PAD.top + plotHeight - (value / max) * plotHeight + 4),
    text: formatCount(value),
  }));
  const grid = [0, max / 2, max].map((value) => ({
    x1: PAD.left,
    x2: width - PAD.right,
    y: round(PAD.top + plotHeight - (value / max) * plotHeight),
  }));
  return { width, height, rects, xLabels, yLabels, grid, max };
}

export interface HorizontalBar {
  label: string;
  value: number;
  y: number;
  width: number;
  cls: string;
}

/** One labelled horizontal bar per item, scaled to the largest. */
export function horizontalBars(
  items: { label: string; value: number; key: string }[],
  { width = 480, rowHeight = 26 }: { width?: number; rowHeight?: number } = {},
): { width: number; height: number; labelWidth: number; bars: HorizontalBar[] } {
  const labelWidth = 170;
  const barSpace = width - labelWidth - 50;
  const max = Math.max(1, ...items.map((i) => i.value));
  return {
    width,
    height: Math.max(rowHeight, items.length * rowHeight),
    labelWidth,
    bars: items.map((item, index) => ({
      label: item.label,
      value: item.value,
      y: index * rowHeight,
      width: round((item.value / max) * barSpace),
      cls: `bar-${item.key}`,
    })),
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
