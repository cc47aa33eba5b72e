// One HTTP POST of a callback body to a vetted address: connects only to addresses the URL guard
// approved at this moment, never follows redirects, and gives up after the timeout.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  resolveCallbackTarget,
  type CallbackAllowList,
  type LookupAll,
} from '../approvals/outbox/url-guard.ts';

export interface PostCallbackInput {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  allow: CallbackAllowList;
  lookupAll: LookupAll;
}

export type PostCallbackResult = { statusCode: number } | { error: string };

/** Longest response body read (and thrown away); receivers only need to answer with a status. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export async function postCallback(input: PostCallbackInput): Promise<PostCallbackResult> {
  let addresses: { address: string; family: number }[];
  try {
    addresses = await resolveCallbackTarget(input.url, input.allow, input.lookupAll);
  } catch (error) {
    return { error: `refused by the URL guard: ${error instanceof Error ? error.message : String(error)}` };
  }
  const url = new URL(input.url);
  // The socket connects to the vetted address, whatever DNS says by the time it dials.
  const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
  };
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<PostCallbackResult>((resolve) => {
    const request = transport.request(
      url,
      {
        method: 'POST',
        lookup: pinnedLookup,
        headers: { ...input.headers, 'content-length': String(Buffer.byteLength(input.body)) },
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        response.on('close', () => resolve({ statusCode: response.statusCode ?? 0 }));
        response.on('error', () => resolve({ statusCode: response.statusCode ?? 0 }));
      },
    );
    // A whole-attempt deadline: the socket timeout alone only bounds each silence, and a receiver
    // trickling bytes could outlive the job's expiry and see the attempt run twice.
    const deadline = setTimeout(
      () => request.destroy(new Error(`timed out after ${input.timeoutMs} ms`)),
      input.timeoutMs,
    );
    request.on('close', () => clearTimeout(deadline));
    request.on('error', (error) => resolve({ error: error.message }));
    request.end(input.body);
  });
}
