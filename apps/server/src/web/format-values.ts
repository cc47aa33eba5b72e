// Small formatters the templates use: instants in UTC, durations a person reads at a glance, and
// the requester proof in the one wording every door uses.
import { describeRequesterProof, readRequesterProof } from '../receipts/requester-proof.ts';

export function formatInstant(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '–';
  const date = typeof value === 'string' ? new Date(value) : value;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** "in 42 min" / "3 min ago": the expiry countdown as of the page's rendering. */
export function formatCountdown(at: Date, now: Date): string {
  const seconds = (at.getTime() - now.getTime()) / 1000;
  return seconds >= 0 ? `in ${formatDuration(seconds)}` : `${formatDuration(-seconds)} ago`;
}

/** A stored `requesterProof` column as its one-line description ("claimed by key …"). */
export function formatRequesterProof(stored: unknown): string {
  return describeRequesterProof(readRequesterProof(stored));
}

export const formatters = {
  instant: formatInstant,
  duration: formatDuration,
  countdown: formatCountdown,
  requesterProof: formatRequesterProof,
};
