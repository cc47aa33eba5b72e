// The development sign-in lets anyone be anyone, so it only answers a browser on this machine:
// the connection must come from a loopback address, the Host must name a loopback host, and no
// proxy may have touched the request (a proxy on the same machine would make the first two true).
import type { IncomingHttpHeaders } from 'node:http';
import { isLoopbackHost } from '../config.ts';

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'] as const;

export interface RequestOrigin {
  /** The socket peer's address, as Node reports it (IPv4-mapped IPv6 included). */
  remoteAddress: string | undefined;
  headers: IncomingHttpHeaders;
}

/** Why the request is not a direct one from this machine, or undefined when it is. */
export function whyNotDirectLoopback(origin: RequestOrigin): string | undefined {
  const peer = origin.remoteAddress?.replace(/^::ffff:/i, '');
  if (peer === undefined || !isLoopbackHost(peer)) return 'the connection does not come from this machine';
  const forwarded = FORWARDING_HEADERS.find((name) => origin.headers[name] !== undefined);
  if (forwarded) return `the request passed through a proxy (it carries ${forwarded})`;
  const host = origin.headers.host;
  if (host === undefined || !isLoopbackHost(hostName(host))) {
    return 'the request was addressed to a host name that is not this machine';
  }
  return undefined;
}

/** The host part of a Host header: `[::1]:3000` → `::1`, `localhost:3000` → `localhost`. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  if (bracketed) return bracketed[1] ?? '';
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
