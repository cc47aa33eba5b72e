// countersign_chat_api_calls_total as /metrics shows it, and what it should show for the calls the
// fake Slack logged, keyed `platform method result`.
import type { FakeSlack } from './fake-slack.ts';

export type CallCounts = Record<string, number>;

/** countersign_chat_api_calls_total from the server's /metrics. */
export async function chatApiCalls(serverUrl: string): Promise<CallCounts> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const counts: CallCounts = {};
  for (const line of text.split('\n')) {
    const match = /^countersign_chat_api_calls_total\{(.*)\} (\d+)$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const labels = new Map([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    counts[`${labels.get('platform')} ${labels.get('method')} ${labels.get('result')}`] = Number(match[2]);
  }
  return counts;
}

/** The counts that changed from `before` to `after`, by how much. */
export function delta(after: CallCounts, before: CallCounts): CallCounts {
  const changed: CallCounts = {};
  for (const [key, value] of Object.entries(after)) {
    if (value !== (before[key] ?? 0)) changed[key] = value - (before[key] ?? 0);
  }
  return changed;
}

/** What the counter should show for the fake's calls since call `from` (of `methods`, or all). */
export function expectedSlackCounts(fake: FakeSlack, from: number, methods?: string[]): CallCounts {
  const counts: CallCounts = {};
  for (const call of fake.calls().filter((c) => c.seq >= from && (!methods || methods.includes(c.method)))) {
    const result = call.ok ? 'ok' : call.status === 429 ? 'rate_limited' : 'error';
    const key = `slack ${call.method} ${result}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
