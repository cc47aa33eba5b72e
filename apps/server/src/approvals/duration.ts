// Durations as operators write them: "90s", "30m", "1h", "2d", or plain seconds.

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(\d+)\s*([smhd])$/;

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const match = DURATION.exec(trimmed);
  if (!match?.[1] || !match[2]) return undefined;
  const unit = UNIT_SECONDS[match[2]];
  return unit === undefined ? undefined : Number(match[1]) * unit;
}
