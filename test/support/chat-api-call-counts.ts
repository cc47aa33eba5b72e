// countersign_chat_api_calls_total as /metrics shows it, and what it should show for the calls the
// fake Slack and the fake Teams connector logged, keyed `platform method result`.
import type { FakeSlack } from './fake-slack.ts';
import type { FakeConnectorCall } from './fake-teams/fake-teams-channel.ts';
import { pollUntil } from './poll.ts';

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

/**
 * The counts changed since `before`, once they have grown by at least `least`: a call is counted
 * when its answer reaches the server, a moment after the fake has logged it.
 */
export async function waitForCallCounts(
  serverUrl: string,
  before: CallCounts,
  least: CallCounts,
): Promise<CallCounts> {
  const after = await pollUntil(
    () => chatApiCalls(serverUrl),
    (now) => Object.entries(least).every(([key, n]) => (now[key] ?? 0) - (before[key] ?? 0) >= n),
    { what: `chat API call counts of at least ${JSON.stringify(least)}` },
  );
  return delta(after, before);
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

/** The Bot Framework connector operation a fake Teams call was, by HTTP method and path. */
function connectorOperation(call: FakeConnectorCall): string {
  const segments = call.path.split('/').filter(Boolean);
  if (segments[3] === 'members') return 'getConversationMember';
  if (segments[3] === 'activities' && call.method === 'POST')
    return segments[4] ? 'replyToActivity' : 'sendToConversation';
  if (segments[3] === 'activities' && call.method === 'PUT') return 'updateActivity';
  return `${call.method} ${call.path}`;
}

/** What the counter should show for the fake Teams connector's calls since index `from`. */
export function expectedTeamsCounts(calls: FakeConnectorCall[], from: number): CallCounts {
  const counts: CallCounts = {};
  for (const call of calls.slice(from)) {
    const throttled = [429, 412, 502, 504].includes(call.status);
    const result = call.status < 300 ? 'ok' : throttled ? 'rate_limited' : 'error';
    const key = `teams ${connectorOperation(call)} ${result}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
